"""Shared machinery of the discretized mixture distributions over audio samples in [-1, 1].

A network predicts, for every audio sample, the parameters of a mixture of ``M`` continuous
components (logistic or Gaussian). The audio is quantised to ``num_classes`` levels
``y_k = 2 k / (num_classes - 1) - 1``; class ``k`` owns the interval ``[y_k - h, y_k + h]`` with
the bin half-width ``h = 1 / (num_classes - 1)``. The probability of a class is the component
mass in its interval, mixed with the softmax of the logits (Salimans et al. 2017, PixelCNN++;
van den Oord et al. 2017, Parallel WaveNet, for 16-bit audio).

Edge bins:
  * ``reference_edges=False`` (the default, exact): only the first class (``k == 0``) takes the
    whole left tail ``CDF(y + h)`` and only the last (``k == num_classes - 1``) the whole right
    tail ``1 - CDF(y - h)``, so the class probabilities sum to one for every ``num_classes``.
  * ``reference_edges=True``: the rule of PixelCNN++ and the WaveNet vocoders, where every target
    below -0.999 takes the left tail and every target above 0.999 the right tail. It was designed
    for 8 bits; with 16 bits the 33 lowest and 33 highest classes take a tail each, so the
    probabilities no longer sum to one. Use it only for parity with those implementations.

Interior bins are computed in closed form without the subtraction ``CDF(y + h) - CDF(y - h)``
(which cancels catastrophically in float32 for 16-bit audio) and without the reference's
``cdf_delta < 1e-5`` mid-bin density fallback; see the component subclasses.

All math runs in float32 (float64 when the parameters are float64): half-precision parameters,
for example the output of a ``mixed_bfloat16`` network, are cast to float32 first.
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from ttszoo.errors import InvalidInputError

tfd = tfp.distributions

MAX_NUM_CLASSES = 2**16
REFERENCE_EDGE = 0.999
# Uniform variates stay in (1e-5, 1 - 1e-5), as in the reference samplers, so that neither the
# Gumbel noise nor the logistic inverse CDF can reach an infinite value.
UNIFORM_EPSILON = 1e-5


def computation_dtype(*tensors):
    """The float dtype for the distribution math: float64 if any input is, else float32."""
    for tensor in tensors:
        if tf.is_tensor(tensor) or isinstance(tensor, np.ndarray | tf.Variable):
            if tf.as_dtype(tensor.dtype) == tf.float64:
                return tf.float64
    return tf.float32


def validate_num_classes(num_classes):
    """Checks ``num_classes`` (a Python int in [2, 2**16]) and returns it as an int."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer):
        raise TypeError(f"num_classes must be a Python int, got {num_classes!r}.")
    if not 2 <= int(num_classes) <= MAX_NUM_CLASSES:
        raise InvalidInputError(
            f"num_classes must be between 2 and {MAX_NUM_CLASSES} (16-bit audio), got "
            f"{num_classes}. Finer quantisation is below float32 resolution near +-1."
        )
    return int(num_classes)


def validate_log_scale_min(log_scale_min):
    """Checks that ``log_scale_min`` is a finite Python number and returns it as a float."""
    if not np.isfinite(float(log_scale_min)):
        raise InvalidInputError(f"log_scale_min must be a finite number, got {log_scale_min!r}.")
    return float(log_scale_min)


def split_mixture_parameters(params, name="params"):
    """Splits a network output ``[..., 3 * M]`` into ``(logits, locs, log_scales)``.

    Args:
      params: ``[..., 3 * M]`` raw network output, channels last (transpose a channels-first
        ``[B, 3M, T]`` WaveNet output to ``[B, T, 3M]`` first). Layout as in PixelCNN++ and the
        WaveNet vocoders: mixture logits, then means, then log-scales, ``M`` channels each.
      name: what to call the tensor in error messages.

    Returns:
      ``logits, locs, log_scales``, each ``[..., M]``.

    Raises:
      ValueError: the last dimension is unknown, zero, or not a multiple of 3.
    """
    params = tf.convert_to_tensor(params)
    channels = params.shape[-1] if params.shape.rank else None
    if params.shape.rank is not None and params.shape.rank < 1:
        raise ValueError(f"{name} must have at least one dimension [..., 3 * M], got a scalar.")
    if channels is None:
        raise ValueError(
            f"The last dimension of {name} (3 * num_components channels) must be known "
            f"statically; got shape {params.shape}. Give the network output a static channel "
            "dimension."
        )
    if channels == 0 or channels % 3:
        raise ValueError(
            f"{name} must have 3 * M channels (M mixture logits, M means, M log-scales) in its "
            f"last dimension, got {channels} channels (shape {params.shape}). Make the output "
            "layer produce 3 * num_components channels."
        )
    return tf.split(params, 3, axis=-1)


def assert_finite(tensor, what):
    """An assertion op that fails with a clear message when ``tensor`` holds NaN or Inf.

    It raises ``tf.errors.InvalidArgumentError`` in eager mode and when run in a ``tf.function``
    graph. XLA (``jit_compile=True``) does not execute assertions, so validate the data outside
    compiled steps (or run a step uncompiled) when chasing non-finite values.
    """
    return tf.debugging.assert_all_finite(
        tensor, f"{what} contains NaN or Inf; check the network output (learning rate, inputs)."
    )


def mixture_parameter_properties():
    """TFP parameter properties of ``logits``, ``locs`` and ``log_scales`` (``[..., M]`` each).

    Each subclass returns these from its own ``_parameter_properties`` (TFP asks every
    subclass that defines ``__init__`` to declare its parameters itself).
    """
    return dict(
        logits=tfp.util.ParameterProperties(event_ndims=1),
        locs=tfp.util.ParameterProperties(event_ndims=1),
        log_scales=tfp.util.ParameterProperties(event_ndims=1),
    )


class DiscretizedMixture(tfd.Distribution):
    """Base class: a mixture of ``M`` discretized continuous components on ``[-1, 1]``.

    Subclasses give the component family through four methods on standardised values
    ``z = (x - loc) / scale``: ``_component(loc, scale)`` (a TFP distribution used for the tails
    and for sampling), ``_log_interval_mass(z_low, z_high, width)`` (the stable log mass of an
    interior bin), ``_standard_sample(shape, seed, dtype)`` and ``_clipped_mean(loc, scale)``
    (the mean of the component after clipping to [-1, 1]).

    Shapes: ``logits``, ``locs`` and ``log_scales`` are ``[..., M]`` and broadcast against each
    other; the batch shape is their broadcast shape without the last axis and the event shape is
    scalar. ``log_prob(y)`` takes targets ``y`` in [-1, 1] of the batch shape (or broadcastable
    to it) and ``sample(n)`` returns ``[n, *batch_shape]`` values in [-1, 1].
    """

    def __init__(
        self,
        logits,
        locs,
        log_scales,
        num_classes,
        log_scale_min,
        reference_edges=False,
        validate_args=False,
        allow_nan_stats=True,
        parameters=None,
        name="DiscretizedMixture",
    ):
        with tf.name_scope(name) as name:
            dtype = computation_dtype(logits, locs, log_scales)
            self._logits = tf.cast(logits, dtype, name="logits")
            self._locs = tf.cast(locs, dtype, name="locs")
            self._log_scales = tf.cast(log_scales, dtype, name="log_scales")
            self._num_classes = validate_num_classes(num_classes)
            self._log_scale_min = validate_log_scale_min(log_scale_min)
            self._reference_edges = bool(reference_edges)
            sizes = {t.shape[-1] for t in (self._logits, self._locs, self._log_scales)}
            sizes.discard(None)
            sizes.discard(1)
            if len(sizes) > 1:
                raise InvalidInputError(
                    "logits, locs and log_scales must have the same number of mixture components "
                    f"in their last dimension, got {self._logits.shape}, {self._locs.shape} and "
                    f"{self._log_scales.shape}."
                )
            super().__init__(
                dtype=dtype,
                reparameterization_type=tfd.NOT_REPARAMETERIZED,
                validate_args=validate_args,
                allow_nan_stats=allow_nan_stats,
                parameters=parameters,
                name=name,
            )

    @property
    def logits(self):
        """``[..., M]`` mixture logits."""
        return self._logits

    @property
    def locs(self):
        """``[..., M]`` component locations in [-1, 1] units."""
        return self._locs

    @property
    def log_scales(self):
        """``[..., M]`` raw component log-scales (before the ``log_scale_min`` floor)."""
        return self._log_scales

    @property
    def num_classes(self):
        """Number of quantisation levels of the target audio."""
        return self._num_classes

    @property
    def log_scale_min(self):
        """Floor applied to the log-scales."""
        return self._log_scale_min

    @property
    def reference_edges(self):
        """Whether the PixelCNN++ +-0.999 edge rule is used instead of the exact edge bins."""
        return self._reference_edges

    @property
    def half_bin_width(self):
        """``h = 1 / (num_classes - 1)``, half the distance between two quantisation levels."""
        return 1.0 / (self._num_classes - 1)

    def scales(self):
        """``[..., M]`` component scales ``exp(max(log_scales, log_scale_min))``."""
        return tf.exp(self._floored_log_scales())

    def _floored_log_scales(self):
        return tf.maximum(self._log_scales, tf.constant(self._log_scale_min, self.dtype))

    def _event_shape(self):
        return tf.TensorShape([])

    def _event_shape_tensor(self):
        return tf.constant([], dtype=tf.int32)

    def component_log_probs(self, y):
        """Per-component log class probabilities ``[..., M]`` (without the mixture weights)."""
        y = tf.cast(y, self.dtype)[..., tf.newaxis]
        h = tf.constant(self.half_bin_width, self.dtype)
        log_scale = self._floored_log_scales()
        inv_scale = tf.exp(-log_scale)
        centred = y - self._locs
        z_low = (centred - h) * inv_scale
        z_high = (centred + h) * inv_scale
        component = self._component(tf.zeros_like(z_low), tf.ones_like(z_low))
        left_tail = component.log_cdf(z_high)
        right_tail = component.log_survival_function(z_low)
        interior = self._log_interval_mass(z_low, z_high, 2.0 * h * inv_scale)
        if self._reference_edges:
            is_left = y < -REFERENCE_EDGE
            is_right = y > REFERENCE_EDGE
        else:
            is_left = y < -1.0 + h
            is_right = y > 1.0 - h
        return tf.where(is_left, left_tail, tf.where(is_right, right_tail, interior))

    def _log_prob(self, y):
        log_weights = tf.nn.log_softmax(self._logits, axis=-1)
        return tf.reduce_logsumexp(self.component_log_probs(y) + log_weights, axis=-1)

    def _sample_n(self, n, seed=None):
        component_seed, value_seed = tfp.random.split_seed(seed, n=2, salt="DiscretizedMixture")
        batch_shape = self._batch_shape_tensor()
        num_components = tf.shape(self._logits)[-1:]
        shape = tf.concat([[n], batch_shape, num_components], axis=0)
        uniform = tf.random.stateless_uniform(
            shape,
            seed=component_seed,
            minval=UNIFORM_EPSILON,
            maxval=1.0 - UNIFORM_EPSILON,
            dtype=self.dtype,
        )
        logits = tf.broadcast_to(self._logits, shape)
        choice = tf.argmax(logits - tf.math.log(-tf.math.log(uniform)), axis=-1)
        one_hot = tf.one_hot(choice, depth=shape[-1], dtype=self.dtype)
        loc = tf.reduce_sum(one_hot * self._locs, axis=-1)
        scale = tf.exp(tf.reduce_sum(one_hot * self._floored_log_scales(), axis=-1))
        standard = self._standard_sample(tf.shape(loc), value_seed, self.dtype)
        return tf.clip_by_value(loc + scale * standard, -1.0, 1.0)

    def _mean(self):
        weights = tf.nn.softmax(self._logits, axis=-1)
        clipped = self._clipped_mean(self._locs, self.scales())
        return tf.reduce_sum(weights * clipped, axis=-1)

    def _parameter_control_dependencies(self, is_init):
        if not self.validate_args or not is_init:
            return []
        return [
            assert_finite(self._logits, "logits"),
            assert_finite(self._locs, "locs"),
            assert_finite(self._log_scales, "log_scales"),
        ]

    def _sample_control_dependencies(self, y):
        if not self.validate_args:
            return []
        return [
            assert_finite(y, "The target"),
            tf.debugging.assert_less_equal(
                tf.abs(y),
                tf.ones([], y.dtype),
                message="Targets must lie in [-1, 1]; scale the audio to [-1, 1] first.",
            ),
        ]

    # Component family hooks (implemented by the subclasses).
    def _component(self, loc, scale):
        raise NotImplementedError

    def _log_interval_mass(self, z_low, z_high, width):
        raise NotImplementedError

    def _standard_sample(self, shape, seed, dtype):
        raise NotImplementedError

    def _clipped_mean(self, loc, scale):
        raise NotImplementedError
