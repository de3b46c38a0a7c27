"""WaveNet building blocks with a fast incremental (one sample at a time) path.

* ``DilatedCausalConv1D``: a dilated causal convolution whose ``step`` keeps a queue of past
  inputs, so generating one sample costs ``kernel_size`` matrix products whatever the dilation
  (Paine et al. 2016, "Fast Wavenet Generation Algorithm", arXiv 1611.09482).
* ``GatedResidualBlock``: ``tanh(W_f * x + V_f c) * sigmoid(W_g * x + V_g c)`` with residual and
  skip outputs (van den Oord et al. 2016, "WaveNet: A Generative Model for Raw Audio",
  arXiv 1609.03499, section 2.3-2.5).
* ``MelUpsampler``: mel-rate conditioning to the sample rate by linear interpolation between
  frame centres (the local conditioning of section 2.5, with a fixed upsampler).

The queue is a circular buffer of ``(kernel_size - 1) * dilation_rate`` past inputs indexed by
the absolute sample position ``t``: the step reads the taps at ``t - k * dilation_rate`` and
writes the new input at ``t mod length``; both are O(channels), so the per-sample cost does not
grow with the receptive field. A zero buffer at ``t = 0`` is exactly the zero left padding of
the parallel ``call``, so the step outputs equal the parallel outputs sample for sample.
"""

import keras
import numpy as np
import tensorflow as tf


def _check_positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}.")
    return int(value)


def _check_channels(tensor, expected, what, layer):
    channels = tensor.shape[-1]
    if channels is not None and channels != expected:
        raise ValueError(
            f"{layer}: {what} has {channels} channels in its last dimension, but the layer was "
            f"built for {expected} (shape {tensor.shape}). Give inputs of the shape it was built "
            "for, or build a new layer."
        )


@keras.saving.register_keras_serializable(package="ttszoo")
class DilatedCausalConv1D(keras.layers.Layer):
    """Dilated causal 1-D convolution with a queue-based incremental step.

    ``y[t] = b + sum_k W[k] x[t - (K - 1 - k) d]`` with zeros before ``t = 0`` (van den Oord et
    al. 2016; the queue of Paine et al. 2016).

    Args:
      filters: output channels ``F``.
      kernel_size: taps ``K >= 2``.
      dilation_rate: spacing ``d >= 1`` between taps; the receptive field is ``(K - 1) d + 1``.
      use_bias: add a bias.
      kernel_initializer, bias_initializer: Keras initializers.

    Call:
      ``inputs`` [B, S, C] -> [B, S, F].

    Incremental use:
      ``queue = layer.initial_queue(batch_size)`` ([L, B, C] zeros, ``L = (K - 1) d``), then for
      ``t = 0, 1, ...``: ``y_t, queue = layer.step(x_t [B, C], queue, t)`` with ``y_t`` [B, F].
    """

    def __init__(
        self,
        filters,
        kernel_size=2,
        dilation_rate=1,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = _check_positive_int(filters, "filters")
        self.kernel_size = _check_positive_int(kernel_size, "kernel_size", minimum=2)
        self.dilation_rate = _check_positive_int(dilation_rate, "dilation_rate")
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    @property
    def queue_length(self):
        """Past inputs the step needs: ``(kernel_size - 1) * dilation_rate``."""
        return (self.kernel_size - 1) * self.dilation_rate

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f"{self.name}: the last dimension (channels) of the input must be known, got "
                f"{input_shape}."
            )
        self.input_channels = int(channels)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.kernel_size, self.input_channels, self.filters),
            initializer=self.kernel_initializer,
        )
        self.bias = (
            self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer)
            if self.use_bias
            else None
        )

    def call(self, inputs):
        if inputs.shape.rank != 3:
            raise ValueError(f"{self.name}: expected inputs [B, S, C], got shape {inputs.shape}.")
        _check_channels(inputs, self.input_channels, "the input", self.name)
        kernel = tf.cast(self.kernel, inputs.dtype)
        length = tf.shape(inputs)[1]
        padded = tf.pad(inputs, [[0, 0], [self.queue_length, 0], [0, 0]])
        outputs = 0.0
        for k in range(self.kernel_size):
            tap = padded[:, k * self.dilation_rate : k * self.dilation_rate + length]
            outputs += tf.einsum("bsc,cf->bsf", tap, kernel[k])
        if self.bias is not None:
            outputs += tf.cast(self.bias, inputs.dtype)
        return outputs

    def initial_queue(self, batch_size):
        """Zeros [L, B, C]: the inputs before ``t = 0`` (the parallel call's left padding)."""
        return tf.zeros([self.queue_length, batch_size, self.input_channels], self.compute_dtype)

    def step(self, inputs, queue, position):
        """One output sample.

        Args:
          inputs: [B, C] the input at sample ``position``.
          queue: [L, B, C] circular buffer; slot ``i`` holds the input of the latest ``t`` with
            ``t mod L == i``.
          position: int32 scalar, the absolute sample index ``t`` (0 for the first sample).

        Returns:
          ``outputs`` [B, F] (equal to ``call(x)[:, t]``) and the updated queue.
        """
        inputs = tf.cast(inputs, self.compute_dtype)
        kernel = tf.cast(self.kernel, self.compute_dtype)
        length = self.queue_length
        position = tf.cast(position, tf.int32)
        outputs = tf.matmul(inputs, kernel[-1])
        for k in range(self.kernel_size - 1):
            # One scalar-indexed read per tap (an XLA dynamic slice of [B, C]).
            lag = (self.kernel_size - 1 - k) * self.dilation_rate
            tap = tf.gather(queue, tf.math.floormod(position - lag, length))
            outputs += tf.matmul(tap, kernel[k])
        if self.bias is not None:
            outputs += tf.cast(self.bias, self.compute_dtype)
        slot = tf.reshape(tf.math.floormod(position, length), [1, 1])
        queue = tf.tensor_scatter_nd_update(queue, slot, inputs[tf.newaxis])
        return outputs, queue

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            dilation_rate=self.dilation_rate,
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
        return config


@keras.saving.register_keras_serializable(package="ttszoo")
class GatedResidualBlock(keras.layers.Layer):
    """One WaveNet layer: dilated causal conv, gated activation, residual and skip outputs.

    ``h = conv_d(x) + c``, ``z = tanh(h[..., :G]) * sigmoid(h[..., G:])``,
    ``skip = W_s z``, ``residual = (x + W_r z) * sqrt(0.5)`` (van den Oord et al. 2016, eq. 2 and
    Fig. 4; the ``sqrt(0.5)`` keeps the variance of the residual stream constant, as in the
    WaveNet vocoders).

    Args:
      residual_channels: ``R``, channels of ``x`` and of the residual output.
      gate_channels: ``2G``, outputs of the dilated convolution (split into filter and gate).
      skip_channels: channels of the skip output.
      kernel_size, dilation_rate: of the dilated causal convolution.
      residual_output: False for the last block of a network, whose residual output nobody
        reads: it then has no residual projection and returns ``inputs`` as the residual.

    Call:
      ``inputs`` [B, S, R], ``condition`` [B, S, 2G] or None (local plus global conditioning,
      already projected to the gate channels) -> ``(residual [B, S, R], skip [B, S, skip])``.

    Incremental use:
      ``queue = block.initial_queue(B)``; ``residual_t, skip_t, queue = block.step(x_t [B, R],
      condition_t [B, 2G] or None, queue, t)``.
    """

    def __init__(
        self,
        residual_channels,
        gate_channels,
        skip_channels,
        kernel_size=2,
        dilation_rate=1,
        residual_output=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.residual_output = bool(residual_output)
        self.residual_channels = _check_positive_int(residual_channels, "residual_channels")
        self.gate_channels = _check_positive_int(gate_channels, "gate_channels", minimum=2)
        if self.gate_channels % 2:
            raise ValueError(
                f"gate_channels must be even (half filter, half gate), got {gate_channels}."
            )
        self.skip_channels = _check_positive_int(skip_channels, "skip_channels")
        self.kernel_size = _check_positive_int(kernel_size, "kernel_size", minimum=2)
        self.dilation_rate = _check_positive_int(dilation_rate, "dilation_rate")

    def build(self, inputs_shape, condition_shape=None):
        if inputs_shape[-1] != self.residual_channels:
            raise ValueError(
                f"{self.name}: inputs must have residual_channels={self.residual_channels} "
                f"channels, got shape {inputs_shape}."
            )
        self.convolution = DilatedCausalConv1D(
            self.gate_channels,
            self.kernel_size,
            self.dilation_rate,
            dtype=self.dtype_policy,
            name="dilated_convolution",
        )
        self.convolution.build((None, None, self.residual_channels))
        self.skip_projection = keras.layers.Dense(
            self.skip_channels, dtype=self.dtype_policy, name="skip_projection"
        )
        self.skip_projection.build((None, self.gate_channels // 2))
        self.residual_projection = None
        if self.residual_output:
            self.residual_projection = keras.layers.Dense(
                self.residual_channels, dtype=self.dtype_policy, name="residual_projection"
            )
            self.residual_projection.build((None, self.gate_channels // 2))

    def _gate_and_project(self, inputs, hidden, condition):
        if condition is not None:
            _check_channels(condition, self.gate_channels, "the condition", self.name)
            hidden = hidden + tf.cast(condition, hidden.dtype)
        filters, gates = tf.split(hidden, 2, axis=-1)
        gated = tf.tanh(filters) * tf.sigmoid(gates)
        skip = self.skip_projection(gated)
        residual = tf.cast(inputs, gated.dtype)
        if self.residual_projection is not None:
            residual = (residual + self.residual_projection(gated)) * np.sqrt(0.5)
        return residual, skip

    def call(self, inputs, condition=None):
        _check_channels(inputs, self.residual_channels, "the input", self.name)
        return self._gate_and_project(inputs, self.convolution(inputs), condition)

    def initial_queue(self, batch_size):
        """Zeros [(K - 1) d, B, R]: the queue of the dilated convolution."""
        return self.convolution.initial_queue(batch_size)

    def step(self, inputs, condition, queue, position):
        """``(residual [B, R], skip [B, skip], queue)`` for sample ``position`` (see ``call``)."""
        hidden, queue = self.convolution.step(inputs, queue, position)
        residual, skip = self._gate_and_project(inputs, hidden, condition)
        return residual, skip, queue

    def compute_output_shape(self, inputs_shape, condition_shape=None):
        return tuple(inputs_shape), (*inputs_shape[:-1], self.skip_channels)

    def get_config(self):
        config = super().get_config()
        config.update(
            residual_channels=self.residual_channels,
            gate_channels=self.gate_channels,
            skip_channels=self.skip_channels,
            kernel_size=self.kernel_size,
            dilation_rate=self.dilation_rate,
            residual_output=self.residual_output,
        )
        return config


def frame_interpolation_weights(hop_length):
    """Weights of the previous, own and next frame for each of the ``hop_length`` samples.

    Sample ``i`` of a frame sits at ``o_i = (i + 0.5) / hop - 0.5`` frames from the frame's
    centre; linear interpolation between frame centres gives it ``1 - |o_i|`` of its own frame and
    ``|o_i|`` of the previous (``o_i < 0``) or next (``o_i > 0``) frame.

    Returns:
      float32 numpy arrays ``previous, own, following``, each [hop_length], summing to one.
    """
    offsets = (np.arange(hop_length, dtype=np.float64) + 0.5) / hop_length - 0.5
    previous = np.maximum(-offsets, 0.0)
    following = np.maximum(offsets, 0.0)
    return (
        previous.astype(np.float32),
        (1.0 - previous - following).astype(np.float32),
        following.astype(np.float32),
    )


@keras.saving.register_keras_serializable(package="ttszoo")
class MelUpsampler(keras.layers.Layer):
    """Frame-rate features to the sample rate by linear interpolation between frame centres.

    The local conditioning of WaveNet (van den Oord et al. 2016, section 2.5) needs one
    conditioning vector per sample. Frame ``t`` of ``hop_length`` samples covers samples
    ``[t hop, (t + 1) hop)`` with its centre in the middle; samples between two centres mix the
    two frames linearly, and the first and last half frames repeat the edge frame. The map is
    linear, so a 1x1 projection commutes with it: project at the frame rate, then upsample,
    which is ``hop_length`` times cheaper (the model does that).

    Args:
      hop_length: samples per frame.

    Call:
      ``frames`` [B, T, C] -> [B, T * hop_length, C].

    Incremental use:
      ``step(frames [B, T, C], position)`` -> [B, C], equal to ``call(frames)[:, position]``.
    """

    def __init__(self, hop_length, **kwargs):
        super().__init__(**kwargs)
        self.hop_length = _check_positive_int(hop_length, "hop_length")

    def _neighbours(self, frames):
        previous = tf.concat([frames[:, :1], frames[:, :-1]], axis=1)
        following = tf.concat([frames[:, 1:], frames[:, -1:]], axis=1)
        return previous, following

    def call(self, frames):
        if frames.shape.rank != 3:
            raise ValueError(f"{self.name}: expected frames [B, T, C], got shape {frames.shape}.")
        weights = [
            tf.constant(w[:, None], frames.dtype)
            for w in frame_interpolation_weights(self.hop_length)
        ]
        previous, following = self._neighbours(frames)
        upsampled = (
            previous[:, :, None] * weights[0]
            + frames[:, :, None] * weights[1]
            + following[:, :, None] * weights[2]
        )  # [B, T, hop, C]
        shape = tf.shape(frames)
        return tf.reshape(upsampled, [shape[0], shape[1] * self.hop_length, frames.shape[-1]])

    def step(self, frames, position):
        """The conditioning vector [B, C] of sample ``position`` (an int32 scalar)."""
        position = tf.cast(position, tf.int32)
        frame = position // self.hop_length
        offset = position % self.hop_length
        last = tf.shape(frames)[1] - 1
        indices = tf.clip_by_value(tf.stack([frame - 1, frame, frame + 1]), 0, last)
        neighbours = tf.gather(frames, indices, axis=1)  # [B, 3, C]
        table = tf.constant(np.stack(frame_interpolation_weights(self.hop_length), axis=1))
        weights = tf.cast(tf.gather(table, offset), frames.dtype)  # [3]
        return tf.einsum("btc,t->bc", neighbours, weights)

    def compute_output_shape(self, input_shape):
        time = None if input_shape[1] is None else input_shape[1] * self.hop_length
        return (input_shape[0], time, input_shape[2])

    def get_config(self):
        config = super().get_config()
        config.update(hop_length=self.hop_length)
        return config
