"""Discretized mixture of logistics (PixelCNN++; Parallel WaveNet's 16-bit audio output).

References:
  Salimans, Karpathy, Chen, Kingma 2017, "PixelCNN++: Improving the PixelCNN with Discretized
  Logistic Mixture Likelihood and Other Modifications", ICLR.
  van den Oord et al. 2017, "Parallel WaveNet: Fast High-Fidelity Speech Synthesis", ICML
  (the mixture of logistics over 16-bit audio used by WaveNet vocoders).
"""

import tensorflow as tf
import tensorflow_probability as tfp

from ttszoo.distributions.discretized_mixture import (
    UNIFORM_EPSILON,
    DiscretizedMixture,
    mixture_parameter_properties,
    split_mixture_parameters,
)

tfd = tfp.distributions


class DiscretizedMixtureOfLogistics(DiscretizedMixture):
    """Mixture of ``M`` logistics, discretized to ``num_classes`` levels in [-1, 1].

    ``P(y_k) = sum_m pi_m [sigmoid((y_k + h - mu_m) / s_m) - sigmoid((y_k - h - mu_m) / s_m)]``
    with ``pi = softmax(logits)``, ``s_m = exp(max(log_scale_m, log_scale_min))``,
    ``h = 1 / (num_classes - 1)``, and the tails given to the edge classes (see
    ``ttszoo.distributions.discretized_mixture`` for the exact and the reference edge rules).

    Interior bins use the identity
    ``sigmoid(a) - sigmoid(b) = sigmoid(a) sigmoid(-b) (1 - exp(b - a))`` in log space,
    ``-softplus(-a) - softplus(b) + log(-expm1(-2h / s))``, which has no cancellation, so float32
    is accurate for 16-bit audio and no mid-bin density fallback is needed.

    Sampling (as the WaveNet vocoders do): the component by the Gumbel-max trick, then the
    logistic inverse CDF ``mu + s (log u - log(1 - u))`` with ``u ~ U(1e-5, 1 - 1e-5)``, clipped to
    [-1, 1] (not rounded to a level). ``mean()`` is the exact mean of those clipped samples,
    ``sum_m pi_m E[clip(X_m, -1, 1)]``.

    Args:
      logits: ``[..., M]`` unnormalised mixture weights.
      locs: ``[..., M]`` component means, in [-1, 1] units.
      log_scales: ``[..., M]`` component log-scales; values below ``log_scale_min`` are floored.
      num_classes: quantisation levels of the audio, 2 to 2**16 (default 2**16, 16-bit audio).
      log_scale_min: log-scale floor (default -7, as PixelCNN++ and the WaveNet vocoders;
        Rayhane-mamah's Tacotron-2 hparams use ``log(1e-14)``).
      reference_edges: use the PixelCNN++ ``|y| > 0.999`` edge rule instead of exact edge bins.
      validate_args: check parameters and targets for NaN / Inf and targets for [-1, 1] with
        ``tf.debugging`` assertions (eager and graph mode; XLA skips them).
      allow_nan_stats, name: as for every TFP distribution.
    """

    def __init__(
        self,
        logits,
        locs,
        log_scales,
        num_classes=2**16,
        log_scale_min=-7.0,
        reference_edges=False,
        validate_args=False,
        allow_nan_stats=True,
        name="DiscretizedMixtureOfLogistics",
    ):
        parameters = dict(locals())
        super().__init__(
            logits,
            locs,
            log_scales,
            num_classes=num_classes,
            log_scale_min=log_scale_min,
            reference_edges=reference_edges,
            validate_args=validate_args,
            allow_nan_stats=allow_nan_stats,
            parameters=parameters,
            name=name,
        )

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return mixture_parameter_properties()

    @classmethod
    def from_network_output(cls, params, **kwargs):
        """Builds the distribution from a network output ``[..., 3 * M]`` (channels last).

        The layout is ``[logits | means | log_scales]``, ``M`` channels each. Keyword arguments
        are passed to the constructor. Raises ``ValueError`` for a channel count that is not a
        positive multiple of 3.
        """
        logits, locs, log_scales = split_mixture_parameters(params)
        return cls(logits, locs, log_scales, **kwargs)

    def _component(self, loc, scale):
        return tfd.Logistic(loc, scale)

    def _log_interval_mass(self, z_low, z_high, width):
        return (
            -tf.math.softplus(-z_high)
            - tf.math.softplus(z_low)
            + tf.math.log(-tf.math.expm1(-width))
        )

    def _standard_sample(self, shape, seed, dtype):
        uniform = tf.random.stateless_uniform(
            shape, seed=seed, minval=UNIFORM_EPSILON, maxval=1.0 - UNIFORM_EPSILON, dtype=dtype
        )
        return tf.math.log(uniform) - tf.math.log1p(-uniform)

    def _clipped_mean(self, loc, scale):
        # E[clip(X, -1, 1)] = -1 + integral_{-1}^{1} P(X > x) dx for a logistic X.
        return -1.0 + scale * (
            tf.math.softplus((loc + 1.0) / scale) - tf.math.softplus((loc - 1.0) / scale)
        )
