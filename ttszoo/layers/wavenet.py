"""WaveNet building blocks with a fast incremental (one sample at a time) path.

* ``GatedResidualBlock``: ``tanh(W_f * x + V_f c) * sigmoid(W_g * x + V_g c)`` with residual and
  skip outputs (van den Oord et al. 2016, "WaveNet: A Generative Model for Raw Audio",
  arXiv 1609.03499, section 2.3-2.5). Its dilated causal convolution is
  ``ttszoo.layers.DilatedConv1D(causal=True, norm="none")``, whose ``step`` keeps a circular
  queue of past inputs, so one sample costs ``kernel_size`` matrix products whatever the
  dilation (Paine et al. 2016, "Fast Wavenet Generation Algorithm", arXiv 1611.09482). A zero
  queue at ``t = 0`` is the zero left padding of the parallel ``call``, so the step outputs
  equal the parallel outputs sample for sample.
* ``MelUpsampler``: mel-rate conditioning to the sample rate by linear interpolation between
  frame centres (the local conditioning of section 2.5, with a fixed upsampler).
"""

import keras
import numpy as np
import tensorflow as tf

from ttszoo.errors import InvalidInputError
from ttszoo.layers.conv import DilatedConv1D
from ttszoo.layers.validation import check_channels, check_positive_int


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
        self.residual_channels = check_positive_int(residual_channels, "residual_channels")
        self.gate_channels = check_positive_int(gate_channels, "gate_channels", minimum=2)
        if self.gate_channels % 2:
            raise InvalidInputError(
                f"gate_channels must be even (half filter, half gate), got {gate_channels}."
            )
        self.skip_channels = check_positive_int(skip_channels, "skip_channels")
        self.kernel_size = check_positive_int(kernel_size, "kernel_size", minimum=2)
        self.dilation_rate = check_positive_int(dilation_rate, "dilation_rate")

    def build(self, inputs_shape, condition_shape=None):
        if inputs_shape[-1] != self.residual_channels:
            raise ValueError(
                f"{self.name}: inputs must have residual_channels={self.residual_channels} "
                f"channels, got shape {inputs_shape}."
            )
        self.convolution = DilatedConv1D(
            self.gate_channels,
            self.kernel_size,
            self.dilation_rate,
            causal=True,
            norm="none",
            kernel_initializer="glorot_uniform",
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
            check_channels(condition, self.gate_channels, "the condition", self.name)
            hidden = hidden + tf.cast(condition, hidden.dtype)
        filters, gates = tf.split(hidden, 2, axis=-1)
        gated = tf.tanh(filters) * tf.sigmoid(gates)
        skip = self.skip_projection(gated)
        residual = tf.cast(inputs, gated.dtype)
        if self.residual_projection is not None:
            residual = (residual + self.residual_projection(gated)) * np.sqrt(0.5)
        return residual, skip

    def call(self, inputs, condition=None):
        check_channels(inputs, self.residual_channels, "the input", self.name)
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
        self.hop_length = check_positive_int(hop_length, "hop_length")

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
