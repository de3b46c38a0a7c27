"""Keras losses for the discretized mixture output heads (negative log-likelihood per sample).

``DiscretizedMixtureLoss`` is what the WaveNet vocoders call ``discretized_mix_logistic_loss``
(Salimans et al. 2017, PixelCNN++; van den Oord et al. 2017, Parallel WaveNet) and, with
``family="gaussian"``, the CDF form of their Gaussian loss, wrapped as a serialisable
``keras.losses.Loss`` whose masked mean is ``sum(nll * mask) / sum(mask)``.
"""

import keras
import tensorflow as tf

from ttszoo.distributions.gaussian import GAUSSIAN_LOG_SCALE_MIN, DiscretizedGaussian
from ttszoo.distributions.logistic_mixture import DiscretizedMixtureOfLogistics
from ttszoo.errors import InvalidInputError

FAMILIES = {"logistic": DiscretizedMixtureOfLogistics, "gaussian": DiscretizedGaussian}
DEFAULT_LOG_SCALE_MIN = {"logistic": -7.0, "gaussian": GAUSSIAN_LOG_SCALE_MIN}


def _check_family(family):
    if family not in FAMILIES:
        raise InvalidInputError(f"family must be one of {sorted(FAMILIES)}, got {family!r}.")
    return family


def discretized_mixture_nll(
    y_true,
    y_pred,
    family="logistic",
    num_classes=2**16,
    log_scale_min=None,
    reference_edges=False,
    validate_args=False,
):
    """Per-sample negative log-likelihood of quantised audio under a discretized mixture.

    Args:
      y_true: ``[B, T]`` or ``[B, T, 1]`` target audio in [-1, 1] (any leading shape works).
      y_pred: ``[B, T, C]`` raw network output, channels last: ``C = 3 * M`` for a mixture
        (``[logits | means | log_scales]``), or ``C = 2`` (mean, log-scale) for one Gaussian.
      family: ``"logistic"`` (mixture of logistics) or ``"gaussian"``.
      num_classes: quantisation levels of the audio (2**8 for mu-law, 2**16 for raw audio).
      log_scale_min: log-scale floor; None picks -7 (logistic) or log(1e-7) (Gaussian).
      reference_edges: the PixelCNN++ ``|y| > 0.999`` edge rule instead of exact edge bins.
      validate_args: assert finite parameters and targets in [-1, 1] (eager and graph mode).

    Returns:
      ``[B, T]`` float32 NLL in nats (float64 when ``y_pred`` is float64), whatever the dtype of
      ``y_pred`` (a ``mixed_bfloat16`` output is cast to float32 before any math).
    """
    family = _check_family(family)
    if log_scale_min is None:
        log_scale_min = DEFAULT_LOG_SCALE_MIN[family]
    y_pred = tf.convert_to_tensor(y_pred)
    dtype = tf.float64 if y_pred.dtype == tf.float64 else tf.float32
    y_pred = tf.cast(y_pred, dtype)
    y_true = tf.cast(y_true, dtype)
    if y_true.shape.rank == y_pred.shape.rank and y_true.shape[-1] == 1:
        y_true = tf.squeeze(y_true, axis=-1)
    if y_true.shape.rank is not None and y_true.shape.rank != y_pred.shape.rank - 1:
        raise ValueError(
            f"y_true must have shape y_pred.shape[:-1] (optionally with a trailing 1), got "
            f"y_true {y_true.shape} for y_pred {y_pred.shape}."
        )
    distribution = FAMILIES[family].from_network_output(
        y_pred,
        num_classes=num_classes,
        log_scale_min=log_scale_min,
        reference_edges=reference_edges,
        validate_args=validate_args,
    )
    return -distribution.log_prob(y_true)


@keras.saving.register_keras_serializable(package="ttszoo")
class DiscretizedMixtureLoss(keras.losses.Loss):
    """Masked mean negative log-likelihood of a discretized mixture of logistics or Gaussians.

    ``loss(y_true [B, T] or [B, T, 1], y_pred [B, T, C], sample_weight [B, T] = mask)`` is
    ``sum(nll * mask) / sum(mask)`` (Keras' ``"mean_with_sample_weight"`` reduction; a Keras
    mask on ``y_pred`` acts the same way), or the plain mean without a mask. The likelihood is
    ``discretized_mixture_nll`` (Salimans et al. 2017 PixelCNN++; van den Oord et al. 2017
    Parallel WaveNet), always computed in float32, also when the model runs ``mixed_bfloat16``.

    Args:
      family, num_classes, log_scale_min, reference_edges: see ``discretized_mixture_nll``.
      reduction: a Keras reduction; the default gives the masked mean described above.
      name: loss name.
      dtype: ``"float32"`` (default) or ``"float64"``; half precision is refused because the
        log-likelihood of 16-bit audio needs float32.
    """

    def __init__(
        self,
        family="logistic",
        num_classes=2**16,
        log_scale_min=None,
        reference_edges=False,
        reduction="mean_with_sample_weight",
        name="discretized_mixture_loss",
        dtype="float32",
    ):
        dtype = keras.backend.standardize_dtype(dtype or "float32")
        if dtype not in ("float32", "float64"):
            raise InvalidInputError(
                f"DiscretizedMixtureLoss computes in float32 or float64, got dtype={dtype!r}. "
                "Leave dtype unset under mixed precision; the loss casts y_pred to float32."
            )
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.family = _check_family(family)
        self.num_classes = int(num_classes)
        self.log_scale_min = float(
            DEFAULT_LOG_SCALE_MIN[family] if log_scale_min is None else log_scale_min
        )
        self.reference_edges = bool(reference_edges)
        # Build once so that bad settings fail here rather than in the first training step.
        FAMILIES[family](
            [0.0], [0.0], [0.0], num_classes=self.num_classes, log_scale_min=self.log_scale_min
        )

    def call(self, y_true, y_pred):
        return discretized_mixture_nll(
            y_true,
            y_pred,
            family=self.family,
            num_classes=self.num_classes,
            log_scale_min=self.log_scale_min,
            reference_edges=self.reference_edges,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            family=self.family,
            num_classes=self.num_classes,
            log_scale_min=self.log_scale_min,
            reference_edges=self.reference_edges,
            dtype=self.dtype,
        )
        return config
