"""Layers of the WaveGrad vocoder: noise-level encoding, FiLM, downsampling and upsampling blocks.

Chen, Zhang, Zen, Weiss, Norouzi, Chan 2020, "WaveGrad: Estimating Gradients for Waveform
Generation" (arXiv 2009.00713), section 3 and figures 3-5. Tensors are channels-last:
``[batch, time, channels]``. Resampling is nearest-neighbour (repeat to upsample, keep every
``factor``-th sample to downsample), as in lmnt-com/wavegrad.
"""

import math

import keras
import tensorflow as tf

from ttszoo.errors import InvalidInputError
from ttszoo.layers.tracking import track_layers

LEAKY_SLOPE = 0.2


def _leaky_relu(x):
    return tf.nn.leaky_relu(x, LEAKY_SLOPE)


def _conv(filters, kernel_size, dtype, dilation_rate=1, name=None):
    return keras.layers.Conv1D(
        filters,
        kernel_size,
        padding="same",
        dilation_rate=dilation_rate,
        dtype=dtype,
        name=name,
    )


@keras.saving.register_keras_serializable(package="ttszoo")
class NoiseLevelEncoding(keras.layers.Layer):
    """Sinusoidal embedding of WaveGrad's continuous noise level ``sqrt(alpha_bar)``.

    ``enc[k] = sin(scale * level * 10000**(-k / H))`` for ``k < H = channels / 2`` and
    ``cos(...)`` of the same arguments for the second half (Chen et al. 2020, eq. 6 / section
    3.2: a Transformer positional encoding of the level, multiplied by a linear scale
    ``C = 5000``). ``scale=5000`` follows the paper (and ivanvovk/WaveGrad after its fix);
    ``scale=1`` is lmnt-com/wavegrad's unscaled variant.

    Call args:
      noise_level: ``[B]`` float, the noise level in [0, 1].

    Returns:
      ``[B, channels]`` in the layer's compute dtype; the trigonometry runs in float32.
    """

    def __init__(self, channels, scale=5000.0, max_period=10000.0, **kwargs):
        super().__init__(**kwargs)
        if channels <= 0 or channels % 2:
            raise InvalidInputError(f"channels must be a positive even number, got {channels}.")
        self.channels = channels
        self.scale = scale
        self.max_period = max_period

    def call(self, noise_level):
        level = tf.cast(tf.reshape(noise_level, [-1, 1]), tf.float32)
        half = self.channels // 2
        frequencies = tf.exp(-math.log(self.max_period) * tf.range(half, dtype=tf.float32) / half)
        angles = self.scale * level * frequencies[tf.newaxis, :]
        return tf.cast(tf.concat([tf.sin(angles), tf.cos(angles)], axis=-1), self.compute_dtype)

    def compute_output_shape(self, noise_level_shape):
        return (noise_level_shape[0], self.channels)

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels, scale=self.scale, max_period=self.max_period)
        return config


@keras.saving.register_keras_serializable(package="ttszoo")
class FiLM(keras.layers.Layer):
    """Feature-wise linear modulation from a downsampling branch (WaveGrad, figure 5).

    ``h = LeakyReLU_0.2(conv3(x)) + NoiseLevelEncoding(noise_level)``, then one convolution
    gives ``shift, scale = split(conv3(h), 2)``.

    Call args:
      inputs: ``[B, L, C_in]`` features of the downsampling branch.
      noise_level: ``[B]`` noise level.

    Returns:
      ``(shift, scale)``, each ``[B, L, channels]``.
    """

    def __init__(self, channels, noise_scale=5000.0, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.noise_scale = noise_scale
        self.kernel_size = kernel_size

    def build(self, input_shape):
        input_channels = input_shape[-1]
        self.input_conv = _conv(input_channels, self.kernel_size, self.dtype_policy, name="input")
        self.input_conv.build(input_shape)
        self.encoding = NoiseLevelEncoding(
            input_channels, scale=self.noise_scale, dtype=self.dtype_policy, name="encoding"
        )
        self.output_conv = _conv(
            2 * self.channels, self.kernel_size, self.dtype_policy, name="output"
        )
        self.output_conv.build(input_shape)

    def call(self, inputs, noise_level):
        hidden = _leaky_relu(self.input_conv(inputs))
        hidden = hidden + self.encoding(noise_level)[:, tf.newaxis, :]
        shift, scale = tf.split(self.output_conv(hidden), 2, axis=-1)
        return shift, scale

    def compute_output_shape(self, input_shape):
        shape = (*input_shape[:-1], self.channels)
        return shape, shape

    def get_config(self):
        config = super().get_config()
        config.update(
            channels=self.channels, noise_scale=self.noise_scale, kernel_size=self.kernel_size
        )
        return config


@keras.saving.register_keras_serializable(package="ttszoo")
class DBlock(keras.layers.Layer):
    """WaveGrad downsampling block (figure 4): ``x`` ``[B, L, C_in]`` -> ``[B, L / factor, channels]``.

    Residual: ``downsample(conv1(x))``, computed as ``conv1(downsample(x))`` (equal for a 1x1
    convolution, ``factor`` times cheaper). Main: ``downsample(x)`` then three times
    ``LeakyReLU_0.2`` and a 3-tap convolution with dilations 1, 2, 4. ``L`` must be a multiple
    of ``factor``.
    """

    def __init__(self, channels, factor, dilations=(1, 2, 4), **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.factor = factor
        self.dilations = tuple(dilations)

    def build(self, input_shape):
        self.residual_conv = _conv(self.channels, 1, self.dtype_policy, name="residual")
        self.residual_conv.build(input_shape)
        shape = input_shape
        convs = []
        for index, dilation in enumerate(self.dilations):
            conv = _conv(self.channels, 3, self.dtype_policy, dilation, name=f"conv_{index}")
            conv.build(shape)
            shape = (*shape[:-1], self.channels)
            convs.append(conv)
        self.convs = track_layers(self, convs, "conv_{}")

    def call(self, inputs):
        x = inputs[:, :: self.factor]
        residual = self.residual_conv(x)
        for conv in self.convs:
            x = conv(_leaky_relu(x))
        return x + residual

    def compute_output_shape(self, input_shape):
        length = None if input_shape[1] is None else input_shape[1] // self.factor
        return (input_shape[0], length, self.channels)

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels, factor=self.factor, dilations=list(self.dilations))
        return config


@keras.saving.register_keras_serializable(package="ttszoo")
class UBlock(keras.layers.Layer):
    """WaveGrad upsampling block (figure 3), modulated by FiLM.

    With ``up`` the nearest-neighbour upsampling by ``factor`` and ``film(h) = shift + scale * h``:
    ``r = conv1(up(x))`` (computed as ``up(conv1(x))``, equal for a 1x1 convolution and
    ``factor`` times cheaper); ``h = film(conv3_d0(up(LReLU(x))))``; ``x = r + conv3_d1(LReLU(h))``;
    ``h = film(conv3_d2(LReLU(film(x))))``; returns ``x + conv3_d3(LReLU(h))``.

    Call args:
      inputs: ``[B, L, C_in]``.
      shift, scale: ``[B, L * factor, channels]`` from the matching ``FiLM``.

    Returns:
      ``[B, L * factor, channels]``.
    """

    def __init__(self, channels, factor, dilations=(1, 2, 4, 8), **kwargs):
        super().__init__(**kwargs)
        if len(dilations) != 4:
            raise InvalidInputError(
                f"A UBlock has four dilated convolutions; got dilations {dilations}."
            )
        self.channels = channels
        self.factor = factor
        self.dilations = tuple(dilations)

    def build(self, input_shape):
        self.residual_conv = _conv(self.channels, 1, self.dtype_policy, name="residual")
        self.residual_conv.build(input_shape)
        hidden_shape = (*input_shape[:-1], self.channels)
        convs = []
        for index, dilation in enumerate(self.dilations):
            conv = _conv(self.channels, 3, self.dtype_policy, dilation, name=f"conv_{index}")
            conv.build(input_shape if index == 0 else hidden_shape)
            convs.append(conv)
        self.convs = track_layers(self, convs, "conv_{}")

    def _upsample(self, x):
        return tf.repeat(x, self.factor, axis=1)

    def call(self, inputs, shift, scale):
        residual = self._upsample(self.residual_conv(inputs))
        h = self.convs[0](self._upsample(_leaky_relu(inputs)))
        h = shift + scale * h
        x = residual + self.convs[1](_leaky_relu(h))
        h = self.convs[2](_leaky_relu(shift + scale * x))
        h = shift + scale * h
        return x + self.convs[3](_leaky_relu(h))

    def compute_output_shape(self, input_shape):
        length = None if input_shape[1] is None else input_shape[1] * self.factor
        return (input_shape[0], length, self.channels)

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels, factor=self.factor, dilations=list(self.dilations))
        return config
