"""The reduction-factor trick: one static projection that emits ``r`` frames per decoder step.

A decoder that predicts ``r`` frames per step runs ``r`` times fewer steps, which makes the
attention easier to learn early in training; ``r`` is then lowered step by step
(as-ideas/TransformerTTS, after Li et al. 2019, "Neural Speech Synthesis with Transformer
Network", arXiv 1809.08895, and Wang et al. 2017, Tacotron, arXiv 1703.10135).

The projection is built once for the largest factor ``max_r`` and sliced to the current ``r``, so
changing ``r`` never touches the weights. ``r`` is a Python int read when the model is traced:
every new value of ``r`` costs one retrace (and one XLA compilation) of the training step, and the
output length ``time * r`` stays static, which ``jit_compile=True`` and TPUs need.
"""

import keras
import tensorflow as tf

from ttszoo.errors import InvalidInputError


def _check_reduction_factor(r, max_r):
    if isinstance(r, bool) or not isinstance(r, int) or not 1 <= r <= max_r:
        raise InvalidInputError(
            f"The reduction factor r must be an int with 1 <= r <= max_r={max_r}, got {r!r}. "
            "Raise max_r (it sets the projection size) or pick a smaller r."
        )


def reduced_length(num_frames, r):
    """Decoder steps needed for ``num_frames`` frames at factor ``r``: ``ceil(num_frames / r)``.

    Works on Python ints and on int tensors (for example a [B] tensor of lengths).
    """
    return -(-num_frames // r)


def subsample_frames(frames, r):
    """Decoder inputs for teacher forcing: frames 0, r, 2r, ... of ``frames``.

    Args:
      frames: [B, T, C] frames that start with the "go" frame (the decoder input sequence).
      r: Python int reduction factor.

    Returns:
      [B, ceil(T / r), C]. Decoder step k sees frame ``k * r``, the last frame of the group the
      previous step emitted.
    """
    return frames[:, ::r, :]


def trim_frames(frames, num_frames):
    """Cuts decoder outputs [B, ceil(T / r) * r, C] back to the target length: [B, num_frames, C].

    ``num_frames`` is the (padded, static) target length; per-utterance lengths are handled by the
    loss mask. Raises ValueError when the output is statically shorter than ``num_frames``.
    """
    available = frames.shape[1]
    if isinstance(num_frames, int) and available is not None and available < num_frames:
        raise ValueError(
            f"Cannot trim {available} output frames to {num_frames}: the decoder produced too few "
            "steps. Feed it reduced_length(num_frames, r) inputs (see subsample_frames)."
        )
    return frames[:, :num_frames, :]


@keras.saving.register_keras_serializable(package="ttszoo")
class ReductionProjection(keras.layers.Layer):
    """Projects decoder states to ``r`` output frames per step with weights sized for ``max_r``.

    A Dense layer of ``channels * max_r`` units whose output is sliced to the first
    ``channels * r`` units and unfolded frame-major: unit ``u`` of step ``t`` becomes channel
    ``u % channels`` of frame ``t * r + u // channels`` (as-ideas/TransformerTTS ``FinalProj``).
    Only those ``channels * r`` units are computed. The number of weights is the same for every
    ``r``, and the r=5 output equals the first ``5 * channels`` units of the r=10 one.

    ``r`` is a Python int attribute, validated on assignment. It is read at trace time: each new
    value costs one retrace / XLA compile of a ``tf.function`` that calls the layer (Keras'
    ``fit`` needs ``model.make_train_function(force=True)``, which
    ``ttszoo.training.ReductionFactorCallback`` does). This keeps every shape static.

    Args:
      channels: frame size C (for example the number of mel bins).
      max_r: the largest reduction factor the layer will ever use; sets the kernel size.
      r: the initial reduction factor, ``max_r`` if None.
      use_bias, kernel_initializer, bias_initializer: as in ``keras.layers.Dense``.

    Call args:
      inputs: [B, T, D] decoder states.

    Returns:
      [B, T * r, C] frames.
    """

    def __init__(
        self,
        channels,
        max_r,
        r=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise InvalidInputError(f"channels must be a positive int, got {channels!r}.")
        if isinstance(max_r, bool) or not isinstance(max_r, int) or max_r < 1:
            raise InvalidInputError(f"max_r must be a positive int, got {max_r!r}.")
        self.channels = channels
        self.max_r = max_r
        self.r = max_r if r is None else r
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    @property
    def r(self):
        """The current reduction factor (a Python int, 1 <= r <= max_r)."""
        return self._r

    @r.setter
    def r(self, value):
        _check_reduction_factor(value, self.max_r)
        self._r = value

    def build(self, inputs_shape):
        input_dim = inputs_shape[-1]
        if input_dim is None:
            raise ValueError("ReductionProjection needs a known last input dimension.")
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_dim, self.channels * self.max_r),
            initializer=self.kernel_initializer,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.channels * self.max_r,), initializer=self.bias_initializer
            )

    def call(self, inputs):
        units = self.channels * self.r
        kernel = tf.cast(self.kernel[:, :units], self.compute_dtype)
        projected = tf.einsum("btd,du->btu", inputs, kernel)
        if self.use_bias:
            projected = projected + tf.cast(self.bias[:units], self.compute_dtype)
        batch, steps = tf.shape(projected)[0], tf.shape(projected)[1]
        return tf.reshape(projected, [batch, steps * self.r, self.channels])

    def compute_output_shape(self, inputs_shape):
        steps = inputs_shape[1]
        return (inputs_shape[0], None if steps is None else steps * self.r, self.channels)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "channels": self.channels,
                "max_r": self.max_r,
                "r": self.r,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config


class ReductionFactorSchedule:
    """Piecewise-constant reduction factor against the training step.

    Built from ``[[step, r], ...]`` breakpoints, for example as-ideas/TransformerTTS'
    ``[[0, 10], [80_000, 5], [100_000, 2], [130_000, 1]]``: ``schedule(step)`` is the ``r`` of the
    last breakpoint whose step is <= ``step``.

    Args:
      breakpoints: sequence of ``(step, r)`` int pairs. The first step must be 0 (so every step has
        an r) and steps must increase strictly.
      max_r: the projection's ``max_r``; every r must satisfy ``1 <= r <= max_r``. Defaults to the
        largest r in the schedule.

    Raises:
      ValueError: naming the offending breakpoint and how to fix it.
    """

    def __init__(self, breakpoints, max_r=None):
        try:
            pairs = [tuple(pair) for pair in breakpoints]
        except TypeError as error:
            raise InvalidInputError(
                f"breakpoints must be a list of [step, r] pairs, got {breakpoints!r}."
            ) from error
        if not pairs:
            raise InvalidInputError("breakpoints is empty: give at least [[0, r]].")
        for index, pair in enumerate(pairs):
            if len(pair) != 2 or not all(
                isinstance(value, int) and not isinstance(value, bool) for value in pair
            ):
                raise InvalidInputError(
                    f"Breakpoint {index} is {list(pair)!r}; each breakpoint must be [step, r] "
                    "with two ints."
                )
        if pairs[0][0] != 0:
            raise InvalidInputError(
                f"The first breakpoint is at step {pairs[0][0]}; start the schedule at step 0, "
                f"for example [[0, {pairs[0][1]}], ...]."
            )
        for index in range(1, len(pairs)):
            if pairs[index][0] <= pairs[index - 1][0]:
                raise InvalidInputError(
                    f"Breakpoint steps must increase strictly, but breakpoint {index} "
                    f"(step {pairs[index][0]}) follows step {pairs[index - 1][0]}."
                )
        largest = max(r for _, r in pairs)
        self.max_r = largest if max_r is None else max_r
        for step, r in pairs:
            if not 1 <= r <= self.max_r:
                raise InvalidInputError(
                    f"The breakpoint at step {step} has r={r}, outside 1 <= r <= max_r="
                    f"{self.max_r}. Raise the projection's max_r or lower this r."
                )
        self.breakpoints = pairs

    def __call__(self, step):
        """The reduction factor (int) at training step ``step`` (an int >= 0)."""
        step = int(step)
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}.")
        current = self.breakpoints[0][1]
        for start, r in self.breakpoints:
            if start > step:
                break
            current = r
        return current

    def get_config(self):
        return {"breakpoints": [list(pair) for pair in self.breakpoints], "max_r": self.max_r}

    def __repr__(self):
        return f"ReductionFactorSchedule({[list(p) for p in self.breakpoints]}, max_r={self.max_r})"
