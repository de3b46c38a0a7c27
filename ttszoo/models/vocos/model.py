"""Vocos: a frame-rate ConvNeXt generator with an inverse-STFT head, trained as a GAN.

Siuzdak 2023, "Vocos: Closing the gap between time-domain and Fourier-based neural vocoders
for high-quality audio synthesis" (arXiv 2306.00814). The generator (``VocosGenerator``)
never upsamples: it predicts one STFT frame per mel frame and the inverse STFT makes the
waveform. Training as the authors' ``VocosExp`` (gemelo-ai/vocos ``experiment.py``): the
multi-period and multi-resolution discriminators, hinge losses averaged over the
sub-discriminators, the multi-resolution terms weighted 0.1, feature matching (weight 1) and
the mel L1 of log mel magnitudes (weight 45) (``GANVocoder``, docs/vocoders_gan.md).
"""

from ttszoo.layers.gan_discriminators import MultiPeriodDiscriminator, MultiResolutionDiscriminator
from ttszoo.models.gan_vocoder import GANVocoder
from ttszoo.models.registry import register_model
from ttszoo.models.vocos.blocks import VocosGenerator


@register_model(
    "vocos",
    paper="Siuzdak 2023, Vocos: Closing the gap between time-domain and Fourier-based neural "
    "vocoders for high-quality audio synthesis, arXiv 2306.00814",
    description="GAN vocoder: ConvNeXt at frame rate + inverse STFT (magnitude and phase).",
)
class Vocos(GANVocoder):
    """Vocos (the authors' mel model: dim 512, MLP 1536, 8 blocks, n_fft 1024, hop 256).

    Args:
      dim, intermediate_dim, num_layers, layer_scale: the backbone (``VocosGenerator``).
      n_fft: FFT size and window of the inverse STFT; ``n_fft - hop_length`` must be even.
      hop_length: audio samples per mel frame.
      frame_groups: the ConvNeXt blocks' per-frame work runs on this many ranges of frames as
        independent ops (``ConvNeXtBlock``; 1, the default, runs each op over all frames).
      periods, period_channels: the multi-period discriminator.
      fft_sizes, resolution_channels: the multi-resolution discriminator.
      **kwargs: the losses, crops and chunking of ``GANVocoder`` (defaults as the authors:
        hinge loss, averaged, ``discriminator_weights={"mrd": 0.1}``, feature matching 1,
        mel L1 45 on 100-band log mels floored at 1e-7). One ``vocode`` window of 2,112
        frames holds ``[2112, 1536]`` activations at most (13 MB in float32).

    Call args:
      mel: ``[B, T, n_mels]``.

    Returns:
      ``[B, T * hop_length]`` float32 audio.
    """

    discriminator_groups = ("mpd", "mrd")

    def __init__(
        self,
        dim=512,
        intermediate_dim=1536,
        num_layers=8,
        layer_scale=None,
        n_fft=1024,
        hop_length=256,
        frame_groups=1,
        periods=(2, 3, 5, 7, 11),
        period_channels=(32, 128, 512, 1024, 1024),
        fft_sizes=(2048, 1024, 512),
        resolution_channels=32,
        **kwargs,
    ):
        defaults = {
            "adversarial_loss": "hinge",
            "average_over_discriminators": True,
            "discriminator_weights": {"mrd": 0.1},
            "feature_matching_weight": 1.0,
            "loss_n_mels": 100,
            "mel_loss_floor": 1e-7,
            "segment_frames": 64,
        }
        for key, value in defaults.items():
            kwargs.setdefault(key, value)
        super().__init__(hop_length=hop_length, **kwargs)
        policy = self.dtype_policy
        self.generator = VocosGenerator(
            dim, intermediate_dim, num_layers, layer_scale, n_fft, hop_length, frame_groups,
            dtype=policy, name="generator",
        )  # fmt: skip
        self.mpd = MultiPeriodDiscriminator(
            periods, period_channels, skip_first_feature_map=True, dtype=policy, name="mpd"
        )
        self.mrd = MultiResolutionDiscriminator(
            fft_sizes, resolution_channels, dtype=policy, name="mrd"
        )

    @property
    def frame_groups(self):
        """``VocosGenerator.frame_groups``; set it on a loaded model before its first call."""
        return self.generator.frame_groups

    @frame_groups.setter
    def frame_groups(self, value):
        self.generator.frame_groups = value

    def get_config(self):
        config = super().get_config()
        config.update(
            self.generator_settings(
                ("dim", "intermediate_dim", "num_layers", "layer_scale", "n_fft", "frame_groups")
            )
        )
        config.update(
            periods=list(self.mpd.periods),
            period_channels=list(self.mpd.channels),
            fft_sizes=list(self.mrd.fft_sizes),
            resolution_channels=self.mrd.channels,
        )
        return config
