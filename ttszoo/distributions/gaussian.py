"""Discretized Gaussian (mixture) and the continuous Gaussian mixture output heads.

References:
  Ping, Peng, Chen 2019, "ClariNet: Parallel Wave Generation in End-to-End Text-to-Speech",
  ICLR (single Gaussian output distribution for WaveNet, continuous density).
  Salimans et al. 2017, PixelCNN++ (the discretization of a continuous component into bins).
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from ttszoo.distributions.discretized_mixture import (
    DiscretizedMixture,
    computation_dtype,
    mixture_parameter_properties,
    split_mixture_parameters,
    validate_log_scale_min,
)

tfd = tfp.distributions

# Rayhane-mamah's Tacotron-2 WaveNet: log_scale_min_gauss = log(1e-7).
GAUSSIAN_LOG_SCALE_MIN = float(np.log(1e-7))
_SQRT_HALF = float(np.sqrt(0.5))
_HALF_LOG_TWO_PI = float(0.5 * np.log(2.0 * np.pi))
# Bins narrower than this (in standard units, times 1 + |z|) use the midpoint rule.
_NARROW_BIN = 1e-2


def split_gaussian_parameters(params, name="params"):
    """Splits ``[..., 2]`` (mean, log-scale) or ``[..., 3 * M]`` into logits, locs, log-scales.

    Two channels are one Gaussian, as in the WaveNet vocoders (channel 0 the mean, channel 1
    the log-scale); the logits are then ``[..., 1]`` zeros. Any other count must be ``3 * M``
    (``[logits | means | log_scales]``). Returns three ``[..., M]`` tensors.
    """
    params = tf.convert_to_tensor(params)
    if params.shape.rank and params.shape[-1] == 2:
        loc, log_scale = tf.split(params, 2, axis=-1)
        return tf.zeros_like(loc), loc, log_scale
    return split_mixture_parameters(params, name=name)


def _standard_normal_cdf(z):
    return 0.5 * tf.math.erfc(-z * _SQRT_HALF)


def _standard_normal_pdf(z):
    return tf.exp(-0.5 * tf.square(z)) / np.sqrt(2.0 * np.pi).astype(np.float32)


class DiscretizedGaussian(DiscretizedMixture):
    """A Gaussian, or a mixture of ``M`` Gaussians, discretized to ``num_classes`` levels.

    ``P(y_k) = sum_m pi_m [Phi((y_k + h - mu_m) / s_m) - Phi((y_k - h - mu_m) / s_m)]`` with
    ``s_m = exp(max(log_scale_m, log_scale_min))``, ``h = 1 / (num_classes - 1)`` and the tails
    given to the edge classes (see ``ttszoo.distributions.discretized_mixture``). This is the
    ``use_cdf=True`` branch of the WaveNet vocoders' Gaussian loss, with exact edges by default.

    An interior bin ``[a, b]`` (standard units, width ``w = b - a``) is computed two ways: narrow
    bins (``w (1 + |m|) < 1e-2``, ``m`` the midpoint; nearly every bin of 16-bit audio) by the
    midpoint rule ``log phi(m) + log w + log1p((m^2 - 1) w^2 / 24)``, exact to ``O((m w)^4)``, and
    wider bins by ``log Phi(b) + log(1 - exp(log Phi(a) - log Phi(b)))`` on the left half of the
    component (mirrored, ``a, b -> -b, -a``, on the right half so the log-CDFs stay away from 0).
    Neither suffers the float32 cancellation of ``Phi(b) - Phi(a)``. Sampling: Gumbel-max component choice, a Normal draw, clipped
    to [-1, 1]. ``mean()`` is the exact mean of the clipped samples.

    Args:
      logits: ``[..., M]`` mixture logits (``[..., 1]`` zeros for a single Gaussian).
      locs: ``[..., M]`` means in [-1, 1] units.
      log_scales: ``[..., M]`` log standard deviations; floored at ``log_scale_min``.
      num_classes: quantisation levels, 2 to 2**16 (default 2**16).
      log_scale_min: log-scale floor (default ``log(1e-7)`` = -16.118, Rayhane-mamah's
        ``log_scale_min_gauss``).
      reference_edges, validate_args, allow_nan_stats, name: as for
        ``DiscretizedMixtureOfLogistics``.
    """

    def __init__(
        self,
        logits,
        locs,
        log_scales,
        num_classes=2**16,
        log_scale_min=GAUSSIAN_LOG_SCALE_MIN,
        reference_edges=False,
        validate_args=False,
        allow_nan_stats=True,
        name="DiscretizedGaussian",
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
        """Builds the distribution from ``[..., 2]`` (mean, log-scale) or ``[..., 3 * M]``."""
        logits, locs, log_scales = split_gaussian_parameters(params)
        return cls(logits, locs, log_scales, **kwargs)

    def _component(self, loc, scale):
        return tfd.Normal(loc, scale)

    def _log_interval_mass(self, z_low, z_high, width):
        mid = 0.5 * (z_low + z_high)
        # Narrow bins: midpoint rule with its second-order term, exact to O((mid * width)^4).
        narrow = width * (1.0 + tf.abs(mid)) < _NARROW_BIN
        midpoint = (
            -0.5 * tf.square(mid)
            - _HALF_LOG_TWO_PI
            + tf.math.log(width)
            + tf.math.log1p((tf.square(mid) - 1.0) * tf.square(width) / 24.0)
        )
        # Wide bins: log-CDF difference on the left half of the component (mirrored bins on
        # the right half). Narrow entries get a harmless stand-in bin so that neither branch
        # of the tf.where can produce a NaN gradient.
        mirror = mid > 0.0
        low = tf.where(narrow, -tf.ones_like(mid), tf.where(mirror, -z_high, z_low))
        high = tf.where(narrow, tf.ones_like(mid), tf.where(mirror, -z_low, z_high))
        standard = tfd.Normal(tf.zeros([], low.dtype), tf.ones([], low.dtype))
        log_cdf_high = standard.log_cdf(high)
        difference = log_cdf_high + tfp.math.log1mexp(log_cdf_high - standard.log_cdf(low))
        return tf.where(narrow, midpoint, difference)

    def _standard_sample(self, shape, seed, dtype):
        return tf.random.stateless_normal(shape, seed=seed, dtype=dtype)

    def _clipped_mean(self, loc, scale):
        # E[clip(X, a, b)] = a Phi(alpha) + b (1 - Phi(beta)) + mu (Phi(beta) - Phi(alpha))
        #                    + s (phi(alpha) - phi(beta)),  alpha = (a - mu) / s, beta = (b - mu) / s.
        alpha = (-1.0 - loc) / scale
        beta = (1.0 - loc) / scale
        cdf_alpha = _standard_normal_cdf(alpha)
        cdf_beta = _standard_normal_cdf(beta)
        pdf = _standard_normal_pdf(alpha) - _standard_normal_pdf(beta)
        return (
            -cdf_alpha
            + (1.0 - cdf_beta)
            + loc * (cdf_beta - cdf_alpha)
            + scale * tf.cast(pdf, loc.dtype)
        )


def gaussian_mixture_from_network_output(params, log_scale_min=-7.0):
    """A continuous (not discretized) Gaussian mixture, as r9y9's ClariNet-style loss uses.

    Args:
      params: ``[..., 2]`` (mean, log-scale) for a single Gaussian or ``[..., 3 * M]``
        (``[logits | means | log_scales]``) for a mixture; any float dtype.
      log_scale_min: floor of the log standard deviations (default -7, as r9y9).

    Returns:
      ``tfd.Normal`` (two channels) or ``tfd.MixtureSameFamily(Categorical, Normal)`` with batch
      shape ``params.shape[:-1]``, computing in float32 (float64 for float64 input). Its
      ``log_prob(y)`` is a density, not a class probability.
    """
    log_scale_min = validate_log_scale_min(log_scale_min)
    single = tf.convert_to_tensor(params).shape[-1] == 2
    dtype = computation_dtype(params)
    logits, locs, log_scales = (
        tf.cast(t, dtype) for t in split_gaussian_parameters(tf.convert_to_tensor(params))
    )
    scales = tf.exp(tf.maximum(log_scales, tf.constant(log_scale_min, dtype)))
    if single:
        return tfd.Normal(locs[..., 0], scales[..., 0])
    return tfd.MixtureSameFamily(tfd.Categorical(logits=logits), tfd.Normal(locs, scales))
