"""Waveform discriminators of GAN vocoders: multi-period, multi-scale and multi-resolution.

* ``PeriodDiscriminator`` / ``MultiPeriodDiscriminator``: HiFi-GAN's MPD (Kong et al. 2020,
  section 2.2): the waveform reshaped to ``[S / p, p]`` (reflect-padded to a multiple of the
  period ``p``) and 2-D convolutions with kernels ``(5, 1)`` over the first axis, so each
  column of period-spaced samples is judged on its own; periods 2, 3, 5, 7, 11.
* ``ScaleDiscriminator`` / ``MultiScaleDiscriminator``: MelGAN's / HiFi-GAN's MSD (section
  2.3): grouped strided 1-D convolutions (``GroupedConv1D``, fast on CPUs) on the raw
  waveform, its 2x and 4x average-pooled versions.
* ``ResolutionDiscriminator`` / ``MultiResolutionDiscriminator``: the multi-resolution
  discriminator of Vocos (Siuzdak 2023, after descript-audio-codec): 2-D convolutions over
  the real and imaginary parts of an STFT, split into five frequency bands, at FFT sizes
  2048, 1024 and 512.

Every convolution is followed by a leaky ReLU (slope 0.1) whose output is a feature map;
a last convolution to one channel gives the scores (also a feature map). Paddings are
explicit and symmetric, as in the authors' PyTorch code (jik876/hifi-gan ``models.py``,
gemelo-ai/vocos ``discriminators.py``); the sizes are checked there (docs/vocoders_gan.md).
Weight and spectral normalisation of the authors' discriminators are left out.

Call args (every discriminator): ``audio [B, S]`` float. Returns ``(scores, feature_maps)``:
``scores`` ``[B, N]`` (flattened), ``feature_maps`` a list of tensors in the compute dtype.
The multi-discriminators return a list of such pairs, one per sub-discriminator.
"""

import keras
import tensorflow as tf

from ttszoo.errors import InvalidInputError
from ttszoo.layers.grouped_conv import GroupedConv1D

LEAKY_SLOPE = 0.1


def _leaky(x):
    return tf.nn.leaky_relu(x, LEAKY_SLOPE)


def _pad_time(x, before, after=None):
    """Zero-pads axis 1 of ``x`` (the time axis of channels-last tensors)."""
    after = before if after is None else after
    paddings = [[0, 0]] * x.shape.rank
    paddings[1] = [before, after]
    return tf.pad(x, paddings)


@keras.saving.register_keras_serializable(package="ttszoo")
class PeriodDiscriminator(keras.layers.Layer):
    """One sub-discriminator of the MPD (HiFi-GAN section 2.2, figure 2 b).

    ``len(channels)`` convolutions with kernel ``(kernel_size, 1)``: every one strided by
    ``stride`` except the last, each padded ``kernel_size // 2`` on both ends; then a
    ``(3, 1)`` convolution to one channel.

    Args:
      period: the period ``p``.
      channels: output channels of the convolutions (HiFi-GAN: 32, 128, 512, 1024, 1024).
      kernel_size, stride: of the convolutions along the first axis.
      skip_first_feature_map: leave the first convolution's output out of the feature maps
        (Vocos does; HiFi-GAN keeps it).
    """

    def __init__(
        self,
        period,
        channels=(32, 128, 512, 1024, 1024),
        kernel_size=5,
        stride=3,
        skip_first_feature_map=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if period < 1:
            raise InvalidInputError(f"period must be >= 1, got {period}.")
        self.period = int(period)
        self.channels = tuple(int(c) for c in channels)
        self.kernel_size = int(kernel_size)
        self.stride = int(stride)
        self.skip_first_feature_map = bool(skip_first_feature_map)
        last = len(self.channels) - 1
        for i, c in enumerate(self.channels):
            conv = keras.layers.Conv2D(
                c,
                (self.kernel_size, 1),
                strides=(1 if i == last else self.stride, 1),
                dtype=self.dtype_policy,
                name=f"conv_{i}",
            )
            setattr(self, f"conv_{i}", conv)
        self.output_conv = keras.layers.Conv2D(1, (3, 1), dtype=self.dtype_policy, name="output")

    @property
    def convs(self):
        return [getattr(self, f"conv_{i}") for i in range(len(self.channels))]

    def build(self, audio_shape):
        frames = None if audio_shape[1] is None else -(-audio_shape[1] // self.period)
        shape = (audio_shape[0], frames, self.period, 1)
        for conv in self.convs:
            padded = (
                shape[0],
                None if shape[1] is None else shape[1] + 2 * (self.kernel_size // 2),
            )
            conv.build(padded + shape[2:])
            shape = conv.compute_output_shape(padded + shape[2:])
        self.output_conv.build((shape[0], None, *shape[2:]))
        self.built = True

    def call(self, audio):
        x = tf.cast(audio, self.compute_dtype)
        samples = audio.shape[1]
        remainder = (-samples) % self.period
        if remainder:
            x = tf.pad(x, [[0, 0], [0, remainder]], mode="REFLECT")
        x = tf.reshape(x, [-1, (samples + remainder) // self.period, self.period, 1])
        feature_maps = []
        for i, conv in enumerate(self.convs):
            x = _leaky(conv(_pad_time(x, self.kernel_size // 2)))
            if i > 0 or not self.skip_first_feature_map:
                feature_maps.append(x)
        x = self.output_conv(_pad_time(x, 1))
        feature_maps.append(x)
        return tf.reshape(x, [tf.shape(x)[0], -1]), feature_maps

    def get_config(self):
        config = super().get_config()
        config.update(
            period=self.period,
            channels=list(self.channels),
            kernel_size=self.kernel_size,
            stride=self.stride,
            skip_first_feature_map=self.skip_first_feature_map,
        )
        return config


class _SubDiscriminators(keras.layers.Layer):
    """A set of sub-discriminators kept as attributes named ``sub_names()``, all run on the
    same audio: a list of their ``(scores, feature_maps)``."""

    def sub_names(self):
        raise NotImplementedError

    @property
    def discriminators(self):
        return [getattr(self, name) for name in self.sub_names()]

    def build(self, audio_shape):
        for discriminator in self.discriminators:
            discriminator.build(audio_shape)
        self.built = True

    def call(self, audio):
        return [discriminator(audio) for discriminator in self.discriminators]


@keras.saving.register_keras_serializable(package="ttszoo")
class MultiPeriodDiscriminator(_SubDiscriminators):
    """HiFi-GAN's MPD: one ``PeriodDiscriminator`` per period (2, 3, 5, 7, 11).

    Args:
      periods: the periods.
      channels, kernel_size, stride, skip_first_feature_map: of every sub-discriminator.
    """

    def __init__(
        self,
        periods=(2, 3, 5, 7, 11),
        channels=(32, 128, 512, 1024, 1024),
        kernel_size=5,
        stride=3,
        skip_first_feature_map=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.periods = tuple(int(p) for p in periods)
        self.channels = tuple(int(c) for c in channels)
        self.kernel_size = int(kernel_size)
        self.stride = int(stride)
        self.skip_first_feature_map = bool(skip_first_feature_map)
        for period in self.periods:
            layer = PeriodDiscriminator(
                period,
                self.channels,
                self.kernel_size,
                self.stride,
                self.skip_first_feature_map,
                dtype=self.dtype_policy,
                name=f"period_{period}",
            )
            setattr(self, f"period_{period}", layer)

    def sub_names(self):
        return [f"period_{p}" for p in self.periods]

    def get_config(self):
        config = super().get_config()
        config.update(
            periods=list(self.periods),
            channels=list(self.channels),
            kernel_size=self.kernel_size,
            stride=self.stride,
            skip_first_feature_map=self.skip_first_feature_map,
        )
        return config


# HiFi-GAN's DiscriminatorS (MelGAN's): (channels, kernel, stride, groups) per convolution.
SCALE_LAYERS = (
    (128, 15, 1, 1),
    (128, 41, 2, 4),
    (256, 41, 2, 16),
    (512, 41, 4, 16),
    (1024, 41, 4, 16),
    (1024, 41, 1, 16),
    (1024, 5, 1, 1),
)


@keras.saving.register_keras_serializable(package="ttszoo")
class ScaleDiscriminator(keras.layers.Layer):
    """One sub-discriminator of the MSD (HiFi-GAN section 2.3, after MelGAN).

    Grouped 1-D convolutions, each padded ``kernel // 2`` on both ends, then a kernel-3
    convolution to one channel.

    Args:
      layers: ``(channels, kernel, stride, groups)`` per convolution (``SCALE_LAYERS``).
    """

    def __init__(self, layers=SCALE_LAYERS, **kwargs):
        super().__init__(**kwargs)
        self.layer_specs = tuple(tuple(int(v) for v in spec) for spec in layers)
        for i, (channels, kernel, stride, groups) in enumerate(self.layer_specs):
            conv = GroupedConv1D(
                channels,
                kernel,
                strides=stride,
                groups=groups,
                dtype=self.dtype_policy,
                name=f"conv_{i}",
            )
            setattr(self, f"conv_{i}", conv)
        self.output_conv = keras.layers.Conv1D(1, 3, dtype=self.dtype_policy, name="output")

    @property
    def convs(self):
        return [getattr(self, f"conv_{i}") for i in range(len(self.layer_specs))]

    def build(self, audio_shape):
        shape = (audio_shape[0], audio_shape[1], 1)
        for conv, spec in zip(self.convs, self.layer_specs, strict=True):
            padded = (shape[0], None if shape[1] is None else shape[1] + 2 * (spec[1] // 2))
            conv.build(padded + shape[2:])
            shape = conv.compute_output_shape(padded + shape[2:])
        self.output_conv.build((shape[0], None, shape[2]))
        self.built = True

    def call(self, audio):
        x = tf.cast(audio, self.compute_dtype)[..., tf.newaxis]
        feature_maps = []
        for conv, spec in zip(self.convs, self.layer_specs, strict=True):
            x = _leaky(conv(_pad_time(x, spec[1] // 2)))
            feature_maps.append(x)
        x = self.output_conv(_pad_time(x, 1))
        feature_maps.append(x)
        return tf.reshape(x, [tf.shape(x)[0], -1]), feature_maps

    def get_config(self):
        config = super().get_config()
        config.update(layers=[list(spec) for spec in self.layer_specs])
        return config


@keras.saving.register_keras_serializable(package="ttszoo")
class MultiScaleDiscriminator(keras.layers.Layer):
    """HiFi-GAN's MSD: ``ScaleDiscriminator`` on the waveform and on its average-pooled
    versions (each pooling: kernel 4, stride 2, two zeros of padding at each end counted in
    the mean, as PyTorch's ``AvgPool1d(4, 2, padding=2)``).

    Args:
      scales: number of sub-discriminators (3).
      layers: of every sub-discriminator (``SCALE_LAYERS``).
    """

    def __init__(self, scales=3, layers=SCALE_LAYERS, **kwargs):
        super().__init__(**kwargs)
        if scales < 1:
            raise InvalidInputError(f"scales must be >= 1, got {scales}.")
        self.scales = int(scales)
        self.layer_specs = tuple(tuple(int(v) for v in spec) for spec in layers)
        for i in range(self.scales):
            layer = ScaleDiscriminator(self.layer_specs, dtype=self.dtype_policy, name=f"scale_{i}")
            setattr(self, f"scale_{i}", layer)

    @property
    def discriminators(self):
        return [getattr(self, f"scale_{i}") for i in range(self.scales)]

    @staticmethod
    def pool(audio):
        """``[B, S] -> [B, S // 2 + 1]``: mean of 4 samples every 2, zero-padded by 2 each side."""
        padded = _pad_time(audio, 2)[..., tf.newaxis]
        return tf.nn.avg_pool1d(padded, 4, 2, "VALID")[..., 0]

    def build(self, audio_shape):
        for discriminator in self.discriminators:
            discriminator.build(audio_shape)
            samples = None if audio_shape[1] is None else audio_shape[1] // 2 + 1
            audio_shape = (audio_shape[0], samples)
        self.built = True

    def call(self, audio):
        outputs = []
        for i, discriminator in enumerate(self.discriminators):
            if i > 0:
                audio = self.pool(audio)
            outputs.append(discriminator(audio))
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(scales=self.scales, layers=[list(spec) for spec in self.layer_specs])
        return config


# Vocos' DiscriminatorR: five bands as fractions of the frequency bins.
RESOLUTION_BANDS = ((0.0, 0.1), (0.1, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0))
# (kernel, frequency stride) per convolution of each band; time stride 1 throughout.
RESOLUTION_LAYERS = (((3, 9), 1), ((3, 9), 2), ((3, 9), 2), ((3, 9), 2), ((3, 3), 1))


@keras.saving.register_keras_serializable(package="ttszoo")
class ResolutionDiscriminator(keras.layers.Layer):
    """One sub-discriminator of Vocos' MRD at one FFT size.

    The waveform loses its mean and is peak-normalised to 0.8; its centred STFT (reflect
    padding, periodic Hann window of ``window_length``, hop ``window_length // 4``) gives
    ``[B, T, F, 2]`` (real, imaginary). Each band of ``RESOLUTION_BANDS`` goes through its own
    five 2-D convolutions (``RESOLUTION_LAYERS``, ``channels`` each, "same"-size padding);
    the bands are joined along frequency and a ``(3, 3)`` convolution gives the scores.
    Feature maps: every band's convolutions but the first, and the scores.

    Args:
      window_length: FFT size and window length.
      channels: channels of the band convolutions (32).
    """

    def __init__(self, window_length, channels=32, **kwargs):
        super().__init__(**kwargs)
        self.window_length = int(window_length)
        self.channels = int(channels)
        bins = self.window_length // 2 + 1
        self.bands = tuple((int(lo * bins), int(hi * bins)) for lo, hi in RESOLUTION_BANDS)
        for b in range(len(self.bands)):
            for i, (kernel, stride) in enumerate(RESOLUTION_LAYERS):
                conv = keras.layers.Conv2D(
                    self.channels,
                    kernel,
                    strides=(1, stride),
                    dtype=self.dtype_policy,
                    name=f"band_{b}_conv_{i}",
                )
                setattr(self, f"band_{b}_conv_{i}", conv)
        self.output_conv = keras.layers.Conv2D(1, (3, 3), dtype=self.dtype_policy, name="output")

    def band_convs(self, band):
        return [getattr(self, f"band_{band}_conv_{i}") for i in range(len(RESOLUTION_LAYERS))]

    def spectrogram(self, audio):
        """``[B, S]`` -> float32 ``[B, 1 + S // hop, window_length // 2 + 1, 2]``."""
        audio = tf.cast(audio, tf.float32)
        audio = audio - tf.reduce_mean(audio, axis=-1, keepdims=True)
        audio = 0.8 * audio / (tf.reduce_max(tf.abs(audio), axis=-1, keepdims=True) + 1e-9)
        half = self.window_length // 2
        audio = tf.pad(audio, [[0, 0], [half, half]], mode="REFLECT")
        spectrum = tf.signal.stft(
            audio,
            self.window_length,
            self.window_length // 4,
            self.window_length,
            window_fn=tf.signal.hann_window,
        )
        return tf.stack([tf.math.real(spectrum), tf.math.imag(spectrum)], axis=-1)

    @staticmethod
    def _pad(x, kernel):
        return tf.pad(x, [[0, 0], [kernel[0] // 2] * 2, [kernel[1] // 2] * 2, [0, 0]])

    def build(self, audio_shape):
        frames = None if audio_shape[1] is None else 1 + audio_shape[1] // (self.window_length // 4)
        widths = []
        for b, (lo, hi) in enumerate(self.bands):
            shape = (audio_shape[0], frames, hi - lo, 2)
            for conv, (kernel, _) in zip(self.band_convs(b), RESOLUTION_LAYERS, strict=True):
                padded = (
                    shape[0],
                    None if shape[1] is None else shape[1] + 2 * (kernel[0] // 2),
                    shape[2] + 2 * (kernel[1] // 2),
                    shape[3],
                )
                conv.build(padded)
                shape = conv.compute_output_shape(padded)
            widths.append(shape[2])
        self.output_conv.build((audio_shape[0], None, sum(widths) + 2, self.channels))
        self.built = True

    def call(self, audio):
        spectrum = tf.cast(self.spectrogram(audio), self.compute_dtype)
        feature_maps, outputs = [], []
        for b, (lo, hi) in enumerate(self.bands):
            x = spectrum[:, :, lo:hi, :]
            for i, (conv, (kernel, _)) in enumerate(
                zip(self.band_convs(b), RESOLUTION_LAYERS, strict=True)
            ):
                x = _leaky(conv(self._pad(x, kernel)))
                if i > 0:
                    feature_maps.append(x)
            outputs.append(x)
        x = self.output_conv(self._pad(tf.concat(outputs, axis=2), (3, 3)))
        feature_maps.append(x)
        return tf.reshape(x, [tf.shape(x)[0], -1]), feature_maps

    def get_config(self):
        config = super().get_config()
        config.update(window_length=self.window_length, channels=self.channels)
        return config


@keras.saving.register_keras_serializable(package="ttszoo")
class MultiResolutionDiscriminator(_SubDiscriminators):
    """Vocos' MRD: one ``ResolutionDiscriminator`` per FFT size (2048, 1024, 512).

    Args:
      fft_sizes: the FFT sizes.
      channels: of every sub-discriminator.
    """

    def __init__(self, fft_sizes=(2048, 1024, 512), channels=32, **kwargs):
        super().__init__(**kwargs)
        self.fft_sizes = tuple(int(n) for n in fft_sizes)
        self.channels = int(channels)
        for n in self.fft_sizes:
            layer = ResolutionDiscriminator(
                n, self.channels, dtype=self.dtype_policy, name=f"resolution_{n}"
            )
            setattr(self, f"resolution_{n}", layer)

    def sub_names(self):
        return [f"resolution_{n}" for n in self.fft_sizes]

    def get_config(self):
        config = super().get_config()
        config.update(fft_sizes=list(self.fft_sizes), channels=self.channels)
        return config
