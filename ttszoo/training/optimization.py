"""Optimizers and learning-rate schedules, configurable from gin.

``make_optimizer`` builds the optimizer named in gin with its schedule and gradient clipping;
``make_optimizer.optimizer = @keras.optimizers.Adam`` with ``keras.optimizers.Adam.beta_1 = 0.5``
and ``make_optimizer.learning_rate = @NoamSchedule()`` is the DCTTS setting, for example.
"""

import keras

import gin
from ttszoo.errors import InvalidInputError

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")

for _optimizer in (keras.optimizers.Adam, keras.optimizers.AdamW, keras.optimizers.SGD):
    gin.register(_optimizer, module="keras.optimizers")
for _schedule in (
    keras.optimizers.schedules.ExponentialDecay,
    keras.optimizers.schedules.PiecewiseConstantDecay,
    keras.optimizers.schedules.CosineDecay,
):
    gin.register(_schedule, module="keras.optimizers.schedules")


@gin.register(module="ttszoo.training")
@keras.saving.register_keras_serializable(package="ttszoo")
class NoamSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up then inverse-square-root decay (Vaswani et al. 2017, "Attention Is All You
    Need", eq. 3; the form used by DCTTS, Kyubyong/dc_tts ``learning_rate_decay``).

    ``lr(s) = peak * warmup**0.5 * min(s * warmup**-1.5, s**-0.5)`` with ``s = step + 1``, so the
    rate climbs linearly to ``peak`` at ``s = warmup`` and then falls as ``s**-0.5``.

    Args:
      peak: the learning rate reached at the end of the warm-up.
      warmup_steps: the number of warm-up steps (> 0).
    """

    def __init__(self, peak=1e-3, warmup_steps=4000):
        if warmup_steps <= 0 or peak <= 0:
            raise InvalidInputError(
                f"NoamSchedule needs peak > 0 and warmup_steps > 0, got {peak} and {warmup_steps}."
            )
        self.peak = peak
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        s = keras.ops.cast(step, "float32") + 1.0
        warmup = float(self.warmup_steps)
        return self.peak * warmup**0.5 * keras.ops.minimum(s * warmup**-1.5, s**-0.5)

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps}


@gin.register(module="ttszoo.training")
@keras.saving.register_keras_serializable(package="ttszoo")
class ScaledFromStep(keras.optimizers.schedules.LearningRateSchedule):
    """Another schedule, multiplied by ``factor`` from step ``boundary`` on.

    ``lr(s) = schedule(s)`` for ``s < boundary`` and ``factor * schedule(s)`` after. The GAN
    vocoders use it to slow the generator down when the discriminators join after mel-only
    steps (docs/vocoders_gan.md, "Mel-only steps first").

    Args:
      schedule: a ``LearningRateSchedule`` or a float.
      boundary: the first step (optimizer iteration) with the scaled rate, >= 0.
      factor: the multiplier, > 0.
    """

    def __init__(self, schedule, boundary, factor):
        if boundary < 0 or factor <= 0:
            raise InvalidInputError(
                f"ScaledFromStep needs boundary >= 0 and factor > 0, got {boundary} and {factor}."
            )
        self.schedule = schedule
        self.boundary = int(boundary)
        self.factor = float(factor)

    def __call__(self, step):
        rate = self.schedule(step) if callable(self.schedule) else self.schedule
        rate = keras.ops.cast(rate, "float32")
        scaled = keras.ops.greater_equal(step, self.boundary)
        return keras.ops.where(scaled, rate * self.factor, rate)

    def get_config(self):
        schedule = self.schedule
        if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            schedule = keras.optimizers.schedules.serialize(schedule)
        return {"schedule": schedule, "boundary": self.boundary, "factor": self.factor}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config["schedule"], dict):
            config["schedule"] = keras.optimizers.schedules.deserialize(config["schedule"])
        return cls(**config)


def _with_gin_bindings(cls):
    """The gin-configurable version of ``cls``; ``cls`` itself when gin already passed one."""
    try:
        return gin.get_configurable(cls)
    except ValueError:
        return cls


@gin.configurable(module="ttszoo.training")
def make_optimizer(
    optimizer=keras.optimizers.Adam,
    learning_rate=1e-3,
    clip_norm=None,
    clip_value=None,
    precision="float32",
):
    """Builds the training optimizer.

    Args:
      optimizer: a Keras optimizer class (its own gin bindings apply, e.g.
        ``keras.optimizers.Adam.beta_1``).
      learning_rate: a float or a ``LearningRateSchedule`` (``@NoamSchedule()``,
        ``@keras.optimizers.schedules.ExponentialDecay()``, ``...PiecewiseConstantDecay()``).
      clip_norm: clip the gradients to this global norm (``None``: no clipping).
      clip_value: clip each gradient element to ``[-clip_value, clip_value]``.
      precision: the training precision; ``"mixed_float16"`` wraps the optimizer in a
        ``keras.optimizers.LossScaleOptimizer`` (dynamic loss scaling).

    Returns:
      A ``keras.optimizers.Optimizer``.
    """
    if precision not in PRECISIONS:
        raise InvalidInputError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    if clip_norm is not None and clip_value is not None:
        raise InvalidInputError("Give clip_norm or clip_value, not both.")
    built = _with_gin_bindings(optimizer)(
        learning_rate=learning_rate, global_clipnorm=clip_norm, clipvalue=clip_value
    )
    if precision == "mixed_float16":
        built = keras.optimizers.LossScaleOptimizer(built)
    return built


def current_learning_rate(optimizer):
    """Returns the optimizer's learning rate at its current step, as a Python float."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    return float(keras.ops.convert_to_numpy(inner.learning_rate))
