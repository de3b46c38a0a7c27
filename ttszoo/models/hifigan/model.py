"""HiFi-GAN: a GAN vocoder with multi-period and multi-scale discriminators.

Kong, Kim, Bae 2020, "HiFi-GAN: Generative Adversarial Networks for Efficient and High
Fidelity Speech Synthesis" (arXiv 2010.05646). The generator (``HiFiGANGenerator``) upsamples
the mel by transposed convolutions whose strides multiply to the hop length; the
discriminators are the MPD (periods 2, 3, 5, 7, 11) and the MSD (3 scales); training uses
least-squares adversarial losses, feature matching (weight 2) and the mel L1 (weight 45)
(``GANVocoder``, docs/vocoders_gan.md).
"""

import math

from ttszoo.errors import InvalidInputError
from ttszoo.layers.gan_discriminators import (
    SCALE_LAYERS,
    MultiPeriodDiscriminator,
    MultiScaleDiscriminator,
)
from ttszoo.models.gan_vocoder import GANVocoder
from ttszoo.models.hifigan.blocks import HiFiGANGenerator
from ttszoo.models.registry import register_model

GENERATOR_SETTINGS = (
    "upsample_rates",
    "upsample_kernel_sizes",
    "initial_channels",
    "resblock_type",
    "resblock_kernel_sizes",
    "resblock_dilations",
)


@register_model(
    "hifigan",
    paper="Kong, Kim, Bae 2020, HiFi-GAN: Generative Adversarial Networks for Efficient and "
    "High Fidelity Speech Synthesis, arXiv 2010.05646",
    description="GAN vocoder: mel -> waveform in one pass; configs V1, V2, V3.",
)
class HiFiGAN(GANVocoder):
    """HiFi-GAN (V1 by default: 13.93 M generator parameters, hop 256 at 22.05 kHz).

    Configurations of the authors (``gin/models/hifigan_v1.gin`` etc.): V1
    ``initial_channels=512``, V2 ``128`` (both rates 8, 8, 2, 2, kernels 16, 16, 4, 4,
    residual type 1 with kernels 3, 7, 11 and dilations (1, 3, 5) each); V3 rates 8, 8, 4,
    kernels 16, 16, 8, ``initial_channels=256``, type 2 with kernels 3, 5, 7 and dilations
    (1, 2), (2, 6), (3, 12). At 16 kHz with hop 200 the rates become 5, 5, 4, 2 (kernels
    11, 11, 8, 4) or 5, 5, 8 (kernels 11, 11, 16): kernel - rate must be even.

    Args:
      upsample_rates, upsample_kernel_sizes, initial_channels, resblock_type,
        resblock_kernel_sizes, resblock_dilations: the generator (``HiFiGANGenerator``).
      hop_length: optional; when given it must equal ``prod(upsample_rates)``.
      periods: periods of the MPD.
      period_channels: channels of every period sub-discriminator's convolutions.
      scales: sub-discriminators of the MSD.
      scale_layers: ``(channels, kernel, stride, groups)`` of every scale sub-discriminator.
      **kwargs: the losses, crops and chunking of ``GANVocoder``.

    Call args:
      mel: ``[B, T, n_mels]``.

    Returns:
      ``[B, T * hop_length]`` audio in the compute dtype.
    """

    discriminator_groups = ("mpd", "msd")

    def __init__(
        self,
        upsample_rates=(8, 8, 2, 2),
        upsample_kernel_sizes=(16, 16, 4, 4),
        initial_channels=512,
        resblock_type="1",
        resblock_kernel_sizes=(3, 7, 11),
        resblock_dilations=((1, 3, 5), (1, 3, 5), (1, 3, 5)),
        hop_length=None,
        periods=(2, 3, 5, 7, 11),
        period_channels=(32, 128, 512, 1024, 1024),
        scales=3,
        scale_layers=SCALE_LAYERS,
        **kwargs,
    ):
        product = math.prod(int(u) for u in upsample_rates)
        if hop_length is not None and product != hop_length:
            raise InvalidInputError(
                f"The upsampling rates {tuple(upsample_rates)} multiply to {product}, but the hop "
                f"length is {hop_length}. Choose rates whose product is the hop (e.g. "
                "(8, 8, 2, 2) or (8, 8, 4) for 256, (5, 5, 4, 2) or (5, 5, 8) for 200)."
            )
        kwargs.setdefault("adversarial_loss", "least_squares")
        kwargs.setdefault("feature_matching_weight", 2.0)
        super().__init__(hop_length=product, **kwargs)
        policy = self.dtype_policy
        self.generator = HiFiGANGenerator(
            upsample_rates,
            upsample_kernel_sizes,
            initial_channels,
            resblock_type,
            resblock_kernel_sizes,
            resblock_dilations,
            dtype=policy,
            name="generator",
        )
        self.mpd = MultiPeriodDiscriminator(periods, period_channels, dtype=policy, name="mpd")
        self.msd = MultiScaleDiscriminator(scales, scale_layers, dtype=policy, name="msd")

    def hop_hint(self):
        return f"upsampling rates {self.generator.upsample_rates}"

    def get_config(self):
        config = super().get_config()
        config.update(self.generator_settings(GENERATOR_SETTINGS))
        config.update(
            periods=list(self.mpd.periods),
            period_channels=list(self.mpd.channels),
            scales=self.msd.scales,
            scale_layers=[list(spec) for spec in self.msd.layer_specs],
        )
        return config
