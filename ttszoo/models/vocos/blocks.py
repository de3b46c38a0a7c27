"""Vocos' generator: a ConvNeXt backbone at frame rate and an inverse-STFT head.

Siuzdak 2023, "Vocos: Closing the gap between time-domain and Fourier-based neural vocoders
for high-quality audio synthesis" (arXiv 2306.00814), section 3.1; sizes and layer order
checked against gemelo-ai/vocos (``models.py``, ``modules.py``, ``heads.py``,
``spectral_ops.py``, ``configs/vocos.yaml``; docs/vocoders_gan.md). Tensors are channels-last
``[batch, frames, channels]``.
"""

import keras
import tensorflow as tf

from ttszoo.errors import InvalidInputError


def _init():
    """The authors' initialisation of the backbone's convolutions and linears."""
    return keras.initializers.TruncatedNormal(0.0, 0.02)


def _frame_groups(value):
    if int(value) != value or value < 1:
        raise InvalidInputError(f"frame_groups must be an integer >= 1, got {value!r}.")
    return int(value)


def istft_same(spectrum, n_fft, hop_length):
    """Inverse STFT with "same" padding: ``[B, T, n_fft // 2 + 1]`` complex -> ``[B, T * hop]``.

    The frames are inverted with ``tf.signal.inverse_stft`` (inverse real FFT of ``n_fft``
    points, periodic Hann window of ``n_fft`` samples, overlap-add every ``hop_length``), which
    gives ``(T - 1) * hop + n_fft`` samples; ``(n_fft - hop) / 2`` samples are cut from each end
    and the rest is divided by the overlap-added squared window, as gemelo-ai/vocos'
    ``ISTFT(padding="same")``. This inverts an STFT whose frames start ``(n_fft - hop) / 2``
    samples before the signal (frame ``t`` centred on sample ``t * hop + hop / 2``).

    Raises:
      ValueError: when ``n_fft - hop_length`` is odd (the output would not be ``T * hop``).
    """
    if (n_fft - hop_length) % 2 or hop_length > n_fft:
        raise InvalidInputError(
            f"The inverse STFT needs hop_length <= n_fft with an even difference, so that its "
            f"output has frames * hop samples; got n_fft={n_fft}, hop_length={hop_length}."
        )
    pad = (n_fft - hop_length) // 2
    audio = tf.signal.inverse_stft(
        spectrum, n_fft, hop_length, n_fft, window_fn=tf.signal.hann_window
    )
    window = tf.signal.hann_window(n_fft)
    frames = tf.shape(spectrum)[-2]
    envelope = tf.signal.overlap_and_add(
        tf.tile(tf.square(window)[tf.newaxis], [frames, 1]), hop_length
    )
    end = tf.shape(envelope)[0] - pad
    return audio[..., pad:end] / envelope[pad:end]


@keras.saving.register_keras_serializable(package="ttszoo")
class ConvNeXtBlock(keras.layers.Layer):
    """ConvNeXt block over time (Liu et al. 2022, adapted to 1-D by Vocos).

    ``x + gamma * W2(GELU(W1(LayerNorm(depthwise_conv7(x)))))`` with ``gamma`` a learned
    per-channel layer scale starting at ``layer_scale``.

    Everything after the depthwise convolution acts on each frame alone, so with
    ``frame_groups > 1`` it runs on that many contiguous ranges of frames as separate ops, which
    TensorFlow's inter-op threads execute side by side; the result is the same. On a few cores
    and short inputs this parallelism is cheaper than splitting each small op over intra-op
    threads (docs/vocoders_gan.md, "Latency on a few cores").

    Args:
      dim: channels.
      intermediate_dim: width of the pointwise MLP.
      layer_scale: initial layer scale (``> 0``).
      kernel_size: of the depthwise convolution (7).
      frame_groups: ranges of frames the pointwise part runs on independently (``>= 1``).

    Shapes: ``[B, T, dim] -> [B, T, dim]``.
    """

    def __init__(self, dim, intermediate_dim, layer_scale, kernel_size=7, frame_groups=1, **kwargs):
        super().__init__(**kwargs)
        self.dim = int(dim)
        self.intermediate_dim = int(intermediate_dim)
        self.layer_scale = float(layer_scale)
        self.kernel_size = int(kernel_size)
        self.frame_groups = _frame_groups(frame_groups)
        policy = self.dtype_policy
        self.depthwise = keras.layers.DepthwiseConv1D(
            self.kernel_size,
            padding="same",
            depthwise_initializer=_init(),
            dtype=policy,
            name="depthwise",
        )
        self.norm = keras.layers.LayerNormalization(epsilon=1e-6, dtype=policy, name="norm")
        self.expand = keras.layers.Dense(
            self.intermediate_dim, kernel_initializer=_init(), dtype=policy, name="expand"
        )
        self.project = keras.layers.Dense(
            self.dim, kernel_initializer=_init(), dtype=policy, name="project"
        )

    def build(self, input_shape):
        self.depthwise.build(input_shape)
        self.norm.build(input_shape)
        self.expand.build(input_shape)
        self.project.build((*input_shape[:-1], self.intermediate_dim))
        self.gamma = self.add_weight(
            shape=(self.dim,),
            initializer=keras.initializers.Constant(self.layer_scale),
            name="gamma",
        )
        self.built = True

    def call(self, x):
        y = self.depthwise(x)
        if self.frame_groups == 1:
            return self.pointwise(x, y)
        frames = tf.shape(x)[1]
        bounds = [frames * i // self.frame_groups for i in range(self.frame_groups + 1)]
        parts = [
            self.pointwise(x[:, start:end], y[:, start:end])
            for start, end in zip(bounds[:-1], bounds[1:], strict=True)
        ]
        return tf.concat(parts, axis=1)

    def pointwise(self, x, y):
        """``x + gamma * W2(GELU(W1(LayerNorm(y))))`` on ``[B, T', dim]`` frames."""
        y = self.norm(y)
        # The first linear runs on the rows [B * T, dim], where a Dense is a MatMul and a
        # BiasAdd that TensorFlow's oneDNN rewrite fuses with the exact GELU into one kernel
        # (on [B, T, dim] a Dense is a Tensordot, left unfused, and the GELU runs alone: in
        # bf16 its Erfc cost more than the matrix product). The second stays on
        # [B, T, intermediate_dim]: its bias alone gains nothing from the fused kernel, which in
        # bf16 is slower than the plain MatMul's (docs/benchmarks.md, "GAN vocoders against
        # their PyTorch peers").
        hidden = tf.nn.gelu(self.expand(tf.reshape(y, [-1, self.dim])), approximate=False)
        hidden = tf.reshape(hidden, tf.concat([tf.shape(x)[:-1], [self.intermediate_dim]], 0))
        y = self.project(hidden)
        return x + tf.cast(self.gamma, y.dtype) * y

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            dim=self.dim,
            intermediate_dim=self.intermediate_dim,
            layer_scale=self.layer_scale,
            kernel_size=self.kernel_size,
            frame_groups=self.frame_groups,
        )
        return config


@keras.saving.register_keras_serializable(package="ttszoo")
class VocosGenerator(keras.layers.Layer):
    """Vocos: mel ``[B, T, n_mels]`` -> audio ``[B, T * hop_length]`` float32.

    ``conv7`` to ``dim`` channels, LayerNorm, ``num_layers`` ``ConvNeXtBlock``s, LayerNorm
    (the backbone, all at frame rate); a linear layer to ``n_fft + 2`` values per frame, split
    into the log magnitude ``m`` and the phase ``p`` of ``n_fft // 2 + 1`` bins; the spectrum
    ``min(exp(m), 100) * (cos p + i sin p)`` goes through ``istft_same``.

    Args:
      dim: backbone channels (512).
      intermediate_dim: ConvNeXt MLP width (1536).
      num_layers: ConvNeXt blocks (8).
      layer_scale: initial layer scale (``None``: ``1 / num_layers``, the authors' default).
      n_fft: FFT size and window of the inverse STFT (1024).
      hop_length: its hop (256).
      frame_groups: see ``ConvNeXtBlock`` (1: each op over all frames).
    """

    def __init__(
        self,
        dim=512,
        intermediate_dim=1536,
        num_layers=8,
        layer_scale=None,
        n_fft=1024,
        hop_length=256,
        frame_groups=1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if (n_fft - hop_length) % 2 or hop_length > n_fft:
            raise InvalidInputError(
                f"n_fft - hop_length must be even and >= 0 for a 'same' inverse STFT of "
                f"frames * hop samples; got n_fft={n_fft}, hop_length={hop_length}."
            )
        self.dim = int(dim)
        self.intermediate_dim = int(intermediate_dim)
        self.num_layers = int(num_layers)
        self.layer_scale = 1.0 / self.num_layers if layer_scale is None else float(layer_scale)
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length)
        self._frame_groups = _frame_groups(frame_groups)
        policy = self.dtype_policy
        self.embed = keras.layers.Conv1D(
            self.dim, 7, padding="same", kernel_initializer=_init(), dtype=policy, name="embed"
        )
        self.input_norm = keras.layers.LayerNormalization(
            epsilon=1e-6, dtype=policy, name="input_norm"
        )
        for i in range(self.num_layers):
            block = ConvNeXtBlock(
                self.dim,
                self.intermediate_dim,
                self.layer_scale,
                frame_groups=self._frame_groups,
                dtype=policy,
                name=f"block_{i}",
            )
            setattr(self, f"block_{i}", block)
        self.output_norm = keras.layers.LayerNormalization(
            epsilon=1e-6, dtype=policy, name="output_norm"
        )
        self.head = keras.layers.Dense(self.n_fft + 2, dtype=policy, name="head")

    @property
    def blocks(self):
        return [getattr(self, f"block_{i}") for i in range(self.num_layers)]

    @property
    def frame_groups(self):
        """The blocks' ``frame_groups``; settable (every block) before the model is traced."""
        return self._frame_groups

    @frame_groups.setter
    def frame_groups(self, value):
        self._frame_groups = _frame_groups(value)
        for block in self.blocks:
            block.frame_groups = self._frame_groups

    def build(self, mel_shape):
        self.embed.build(mel_shape)
        shape = (*mel_shape[:-1], self.dim)
        self.input_norm.build(shape)
        for block in self.blocks:
            block.build(shape)
        self.output_norm.build(shape)
        self.head.build(shape)
        self.built = True

    def spectrum(self, mel):
        """The predicted complex STFT ``[B, T, n_fft // 2 + 1]`` (complex64)."""
        x = self.input_norm(self.embed(tf.cast(mel, self.compute_dtype)))
        for block in self.blocks:
            x = block(x)
        x = tf.cast(self.head(self.output_norm(x)), tf.float32)
        log_magnitude, phase = tf.split(x, 2, axis=-1)
        magnitude = tf.minimum(tf.exp(log_magnitude), 100.0)
        return tf.complex(magnitude * tf.cos(phase), magnitude * tf.sin(phase))

    def call(self, mel):
        return istft_same(self.spectrum(mel), self.n_fft, self.hop_length)

    def get_config(self):
        config = super().get_config()
        config.update(
            dim=self.dim,
            intermediate_dim=self.intermediate_dim,
            num_layers=self.num_layers,
            layer_scale=self.layer_scale,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            frame_groups=self.frame_groups,
        )
        return config
