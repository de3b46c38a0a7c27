"""HiFi-GAN's generator and its multi-receptive-field residual blocks.

Kong, Kim, Bae 2020, "HiFi-GAN: Generative Adversarial Networks for Efficient and High
Fidelity Speech Synthesis" (arXiv 2010.05646), section 2.1 and figure 1; sizes and layer order
checked against the authors' jik876/hifi-gan ``models.py`` and ``config_v1/v2/v3.json``
(docs/vocoders_gan.md). Tensors are channels-last ``[batch, time, channels]``. The authors'
weight normalisation is left out: it does not change the function or the parameter count of
the trained generator (they remove it for inference).
"""

import keras
import tensorflow as tf

from ttszoo.errors import InvalidInputError
from ttszoo.layers.direct_dilated_conv import DirectDilatedConv1D

LEAKY_SLOPE = 0.1
RESBLOCK_TYPES = ("1", "2")


def _init():
    """The authors' initialisation of the generator's convolutions: N(0, 0.01)."""
    return keras.initializers.RandomNormal(0.0, 0.01)


@keras.saving.register_keras_serializable(package="ttszoo")
class HiFiGANResBlock(keras.layers.Layer):
    """One residual block of the multi-receptive-field fusion (MRF).

    Type ``"1"`` (V1, V2): per dilation ``d``,
    ``x = x + conv_k(lrelu(conv_{k,d}(lrelu(x))))``. Type ``"2"`` (V3): per dilation ``d``,
    ``x = x + conv_{k,d}(lrelu(x))``. Convolutions keep the length ("same" padding), keep the
    channels and use leaky ReLU slope 0.1.

    Args:
      channels: the block's channels.
      kernel_size: kernel of every convolution.
      dilations: the dilations (three for type 1 in the paper, two for type 2).
      block_type: ``"1"`` or ``"2"``.

    Shapes: ``[B, T, channels] -> [B, T, channels]``.
    """

    def __init__(self, channels, kernel_size, dilations, block_type="1", **kwargs):
        super().__init__(**kwargs)
        if block_type not in RESBLOCK_TYPES:
            raise InvalidInputError(
                f"block_type must be one of {RESBLOCK_TYPES}, got {block_type!r}."
            )
        self.channels = int(channels)
        self.kernel_size = int(kernel_size)
        self.dilations = tuple(int(d) for d in dilations)
        self.block_type = block_type
        for i, d in enumerate(self.dilations):
            setattr(self, f"dilated_{i}", self._conv(d, f"dilated_{i}"))
            if block_type == "1":
                setattr(self, f"plain_{i}", self._conv(1, f"plain_{i}"))

    def _conv(self, dilation, name):
        return DirectDilatedConv1D(
            self.channels,
            self.kernel_size,
            padding="same",
            dilation_rate=dilation,
            kernel_initializer=_init(),
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, input_shape):
        for i in range(len(self.dilations)):
            getattr(self, f"dilated_{i}").build(input_shape)
            if self.block_type == "1":
                getattr(self, f"plain_{i}").build(input_shape)
        self.built = True

    def call(self, x):
        for i in range(len(self.dilations)):
            y = getattr(self, f"dilated_{i}")(tf.nn.leaky_relu(x, LEAKY_SLOPE))
            if self.block_type == "1":
                y = getattr(self, f"plain_{i}")(tf.nn.leaky_relu(y, LEAKY_SLOPE))
            x = x + y
        return x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            channels=self.channels,
            kernel_size=self.kernel_size,
            dilations=list(self.dilations),
            block_type=self.block_type,
        )
        return config


def _check_generator_sizes(
    upsample_rates,
    upsample_kernel_sizes,
    initial_channels,
    resblock_kernel_sizes,
    resblock_dilations,
):
    """Clear errors for generator sizes that do not fit together."""
    if len(upsample_rates) != len(upsample_kernel_sizes):
        raise InvalidInputError(
            f"Give one kernel size per upsampling rate, got rates {tuple(upsample_rates)} "
            f"and kernels {tuple(upsample_kernel_sizes)}."
        )
    for u, k in zip(upsample_rates, upsample_kernel_sizes, strict=True):
        if u < 1 or k < u or (k - u) % 2:
            raise InvalidInputError(
                f"An upsampling kernel must be >= its rate with an even difference, so the "
                f"output is exactly rate times longer; got kernel {k} for rate {u}."
            )
    if len(resblock_kernel_sizes) != len(resblock_dilations):
        raise InvalidInputError(
            "Give one dilation list per residual-block kernel size, got "
            f"{tuple(resblock_kernel_sizes)} and {tuple(resblock_dilations)}."
        )
    if initial_channels % 2 ** len(upsample_rates):
        raise InvalidInputError(
            f"initial_channels={initial_channels} must be divisible by "
            f"2**{len(upsample_rates)} (channels halve at every upsampling)."
        )


@keras.saving.register_keras_serializable(package="ttszoo")
class HiFiGANGenerator(keras.layers.Layer):
    """HiFi-GAN's generator: mel ``[B, T, n_mels]`` -> audio ``[B, T * prod(upsample_rates)]``.

    ``conv7(mel)`` to ``initial_channels``; per stage ``i``: leaky ReLU (0.1), a transposed
    convolution (kernel ``upsample_kernel_sizes[i]``, stride ``upsample_rates[i]``, padding
    ``(k - u) / 2`` on each side, channels halved) and the mean of one ``HiFiGANResBlock`` per
    kernel size; then leaky ReLU (slope 0.01, PyTorch's default as in the authors' code), a
    kernel-7 convolution to one channel and tanh.

    Args:
      upsample_rates: stride of each transposed convolution.
      upsample_kernel_sizes: its kernel (``k - u`` must be even and >= 0).
      initial_channels: channels after the first convolution.
      resblock_type: ``"1"`` or ``"2"``.
      resblock_kernel_sizes: one residual block per kernel size in every stage.
      resblock_dilations: the dilations of each of those blocks.

    Returns ``[B, S]`` audio in [-1, 1], in the compute dtype.
    """

    def __init__(
        self,
        upsample_rates=(8, 8, 2, 2),
        upsample_kernel_sizes=(16, 16, 4, 4),
        initial_channels=512,
        resblock_type="1",
        resblock_kernel_sizes=(3, 7, 11),
        resblock_dilations=((1, 3, 5), (1, 3, 5), (1, 3, 5)),
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_generator_sizes(
            upsample_rates,
            upsample_kernel_sizes,
            initial_channels,
            resblock_kernel_sizes,
            resblock_dilations,
        )
        self.upsample_rates = tuple(int(u) for u in upsample_rates)
        self.upsample_kernel_sizes = tuple(int(k) for k in upsample_kernel_sizes)
        self.initial_channels = int(initial_channels)
        self.resblock_type = resblock_type
        self.resblock_kernel_sizes = tuple(int(k) for k in resblock_kernel_sizes)
        self.resblock_dilations = tuple(tuple(int(d) for d in ds) for ds in resblock_dilations)
        policy = self.dtype_policy
        self.input_conv = keras.layers.Conv1D(
            self.initial_channels, 7, padding="same", dtype=policy, name="input_conv"
        )
        for i, (u, k) in enumerate(
            zip(self.upsample_rates, self.upsample_kernel_sizes, strict=True)
        ):
            channels = self.stage_channels(i)
            setattr(
                self,
                f"upsample_{i}",
                keras.layers.Conv1DTranspose(
                    channels,
                    k,
                    strides=u,
                    padding="same",
                    kernel_initializer=_init(),
                    dtype=policy,
                    name=f"upsample_{i}",
                ),
            )
            for j, (kernel, dilations) in enumerate(
                zip(self.resblock_kernel_sizes, self.resblock_dilations, strict=True)
            ):
                name = f"resblock_{i}_{j}"
                setattr(
                    self,
                    name,
                    HiFiGANResBlock(
                        channels, kernel, dilations, self.resblock_type, dtype=policy, name=name
                    ),
                )
        self.output_conv = keras.layers.Conv1D(
            1, 7, padding="same", kernel_initializer=_init(), dtype=policy, name="output_conv"
        )

    @property
    def hop_length(self):
        """Audio samples per mel frame: the product of the upsampling rates."""
        hop = 1
        for u in self.upsample_rates:
            hop *= u
        return hop

    def stage_channels(self, stage):
        """Channels after upsampling stage ``stage``: ``initial_channels / 2**(stage + 1)``."""
        return self.initial_channels // 2 ** (stage + 1)

    def resblocks(self, stage):
        return [
            getattr(self, f"resblock_{stage}_{j}") for j in range(len(self.resblock_kernel_sizes))
        ]

    def build(self, mel_shape):
        batch, frames, _ = mel_shape
        self.input_conv.build(mel_shape)
        shape = (batch, frames, self.initial_channels)
        for i, u in enumerate(self.upsample_rates):
            upsample = getattr(self, f"upsample_{i}")
            upsample.build(shape)
            frames = None if frames is None else frames * u
            shape = (batch, frames, self.stage_channels(i))
            for block in self.resblocks(i):
                block.build(shape)
        self.output_conv.build(shape)
        self.built = True

    def call(self, mel):
        x = self.input_conv(tf.cast(mel, self.compute_dtype))
        for i in range(len(self.upsample_rates)):
            x = getattr(self, f"upsample_{i}")(tf.nn.leaky_relu(x, LEAKY_SLOPE))
            blocks = self.resblocks(i)
            x = tf.add_n([block(x) for block in blocks]) / len(blocks)
        x = self.output_conv(tf.nn.leaky_relu(x, 0.01))
        return tf.tanh(x[..., 0])

    def get_config(self):
        config = super().get_config()
        config.update(
            upsample_rates=list(self.upsample_rates),
            upsample_kernel_sizes=list(self.upsample_kernel_sizes),
            initial_channels=self.initial_channels,
            resblock_type=self.resblock_type,
            resblock_kernel_sizes=list(self.resblock_kernel_sizes),
            resblock_dilations=[list(d) for d in self.resblock_dilations],
        )
        return config
