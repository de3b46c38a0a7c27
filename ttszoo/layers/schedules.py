"""Keras callbacks that change layers during training: the reduction factor and the SMA switch.

Both read the global step from ``model.optimizer.iterations`` at the start of training (so a
resumed run picks the right state) and before every training batch.
"""

import keras

from ttszoo.layers.attention import StepwiseMonotonicMultiHeadAttention
from ttszoo.layers.reduction import ReductionFactorSchedule, ReductionProjection


def _layers_of_type(model, layer_type):
    found = [
        layer for layer in model._flatten_layers(include_self=True) if isinstance(layer, layer_type)
    ]
    if not found:
        raise ValueError(
            f"The model {model.name!r} has no {layer_type.__name__} layer, so this callback has "
            "nothing to change. Remove the callback or add the layer."
        )
    return found


def _global_step(model):
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def _rebuild_step_functions(model):
    """Makes Keras retrace the train/test/predict steps, which read layer attributes at trace time."""
    model.make_train_function(force=True)
    model.make_test_function(force=True)
    model.make_predict_function(force=True)


class ReductionFactorCallback(keras.callbacks.Callback):
    """Applies a ``ReductionFactorSchedule`` to every ``ReductionProjection`` of the model.

    When the scheduled ``r`` differs from the layers' ``r``, it sets the new value and rebuilds
    the model's train, test and predict functions (``make_*_function(force=True)``), because ``r``
    is a Python int baked into the traced graph: each new ``r`` costs one retrace / XLA compile.
    A custom training loop passes ``on_change`` to re-create its own ``tf.function``.

    Args:
      schedule: a ``ReductionFactorSchedule`` or its ``[[step, r], ...]`` breakpoints.
      on_change: optional callable ``on_change(step, r)`` run after every change of ``r``.
    """

    def __init__(self, schedule, on_change=None):
        super().__init__()
        if not isinstance(schedule, ReductionFactorSchedule):
            schedule = ReductionFactorSchedule(schedule)
        self.schedule = schedule
        self.on_change = on_change

    def on_train_begin(self, logs=None):
        projections = _layers_of_type(self.model, ReductionProjection)
        for projection in projections:
            if self.schedule.max_r > projection.max_r:
                raise ValueError(
                    f"The schedule reaches r={self.schedule.max_r}, but {projection.name!r} was "
                    f"built with max_r={projection.max_r}. Build it with a larger max_r."
                )
        self._apply(_global_step(self.model))

    def on_train_batch_begin(self, batch, logs=None):
        self._apply(_global_step(self.model))

    def _apply(self, step):
        r = self.schedule(step)
        projections = _layers_of_type(self.model, ReductionProjection)
        if all(projection.r == r for projection in projections):
            return
        for projection in projections:
            projection.r = r
        _rebuild_step_functions(self.model)
        if self.on_change is not None:
            self.on_change(step, r)


class MonotonicAttentionSwitch(keras.callbacks.Callback):
    """Turns on the stepwise monotonic expectation of every SMA layer from ``start_step`` on.

    The reference trains plain multihead attention first and then switches the monotonic
    enhancement on (keonlee9420's ``sma_tunable``). The switch is a Python bool read at trace
    time, so switching rebuilds the model's step functions (one retrace / XLA compile). A resumed
    run past ``start_step`` is switched on at the start of training.

    Args:
      start_step: global step (int >= 0) from which the monotonic expectation is used.
      on_change: optional callable ``on_change(step)`` run when the switch is turned on, for
        custom training loops that must re-create their own ``tf.function``.
    """

    def __init__(self, start_step, on_change=None):
        super().__init__()
        if isinstance(start_step, bool) or not isinstance(start_step, int) or start_step < 0:
            raise ValueError(f"start_step must be an int >= 0, got {start_step!r}.")
        self.start_step = start_step
        self.on_change = on_change

    def on_train_begin(self, logs=None):
        self._apply(_global_step(self.model))

    def on_train_batch_begin(self, batch, logs=None):
        self._apply(_global_step(self.model))

    def _apply(self, step):
        if step < self.start_step:
            return
        attention_layers = _layers_of_type(self.model, StepwiseMonotonicMultiHeadAttention)
        if all(layer.monotonic for layer in attention_layers):
            return
        for layer in attention_layers:
            layer.monotonic = True
        _rebuild_step_functions(self.model)
        if self.on_change is not None:
            self.on_change(step)
