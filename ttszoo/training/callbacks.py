"""Training callbacks that switch a model's trace-time settings at given global steps.

Transformer TTS trains with four settings that are Python values read when the training step
is traced: the reduction factor ``r`` of its ``ReductionProjection`` layers, the ``monotonic``
switch of its ``StepwiseMonotonicMultiHeadAttention`` layers, its ``diagonal_forcing`` flag and
its ``scheduled_sampling_rate``.
Each callback here derives from ``StepSwitch``: it reads the global step
(``model.optimizer.iterations``) at the start of training, so a resumed run starts in the right
state, and before every training batch, and when the step calls for another value it sets it on
its targets (found by layer type or attribute name: this module imports no model family) and
rebuilds Keras' train, test and predict functions (one retrace / XLA compile per change). The
ttszoo ``Trainer`` keeps one compiled step per combination of ``model.trace_constants()``
instead, so it needs no rebuild; a custom loop passes ``on_change`` to re-create its own
``tf.function``.

The callbacks are registered with gin here, under ``ttszoo.training`` (gin files name them
``ReductionFactorCallback``, ``MonotonicAttentionSwitch``, ``DiagonalAttentionForcing`` and
``ScheduledSampling``).
"""

import keras

import gin
from ttszoo.errors import InvalidInputError
from ttszoo.layers.attention import StepwiseMonotonicMultiHeadAttention
from ttszoo.layers.reduction import ReductionFactorSchedule, ReductionProjection


def global_step(model):
    """The optimizer's step counter of ``model`` as a Python int."""
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def rebuild_step_functions(model):
    """Makes Keras retrace the train/test/predict steps, which read settings at trace time."""
    model.make_train_function(force=True)
    model.make_test_function(force=True)
    model.make_predict_function(force=True)


def _check_step(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError(f"{name} must be an int >= 0, got {value!r}.")


class StepSwitch(keras.callbacks.Callback):
    """Base class: sets ``attribute`` of the model's targets to the value the global step calls for.

    Subclasses give ``attribute`` (a class attribute), ``value_at(step)`` (None: leave the
    setting as it is) and, when the setting lives on layers rather than on the model,
    ``targets(model)``. A change rebuilds the model's step functions and then calls
    ``on_change(step, value)`` when given.

    Args:
      on_change: optional callable ``on_change(step, value)`` run after every change.
    """

    attribute = None

    def __init__(self, on_change=None):
        super().__init__()
        self.on_change = on_change

    def value_at(self, step):
        raise NotImplementedError(f"{type(self).__name__} must define value_at(step).")

    def targets(self, model):
        """The objects that carry ``attribute``: the model itself by default."""
        if not hasattr(model, self.attribute):
            raise InvalidInputError(
                f"The model {model.name!r} has no {self.attribute!r} attribute, so "
                f"{type(self).__name__} has nothing to switch. Remove the callback."
            )
        return [model]

    def check(self, model):
        """Validates the callback against the model at the start of training."""
        self.targets(model)

    def on_train_begin(self, logs=None):
        self.check(self.model)
        self._apply(global_step(self.model))

    def on_train_batch_begin(self, batch, logs=None):
        self._apply(global_step(self.model))

    def _apply(self, step):
        value = self.value_at(step)
        if value is None:
            return
        targets = self.targets(self.model)
        if all(getattr(target, self.attribute) == value for target in targets):
            return
        for target in targets:
            setattr(target, self.attribute, value)
        rebuild_step_functions(self.model)
        if self.on_change is not None:
            self.on_change(step, value)


class SwitchAtStep(StepSwitch):
    """A setting that takes ``after`` from global step ``step`` on and ``before`` until then.

    Args:
      step: the first global step (int >= 0) with ``after``.
      before: the value before ``step``; None leaves the setting as the model was built.
      after: the value from ``step`` on.
      on_change: see ``StepSwitch``.
    """

    def __init__(self, step, before, after, on_change=None):
        super().__init__(on_change)
        _check_step("step", step)
        self.step = step
        self.before = before
        self.after = after

    def value_at(self, step):
        return self.after if step >= self.step else self.before


def _layers_of_type(model, layer_type):
    found = [
        layer for layer in model._flatten_layers(include_self=True) if isinstance(layer, layer_type)
    ]
    if not found:
        raise InvalidInputError(
            f"The model {model.name!r} has no {layer_type.__name__} layer, so this callback has "
            "nothing to change. Remove the callback or add the layer."
        )
    return found


@gin.register(module="ttszoo.training")
class ReductionFactorCallback(StepSwitch):
    """Applies a ``ReductionFactorSchedule`` to ``r`` of every ``ReductionProjection`` layer.

    ``r`` is a Python int baked into the traced step, so each new ``r`` costs one retrace / XLA
    compile (as-ideas/TransformerTTS; docs/references.md, reduction-factor schedule).

    Args:
      schedule: a ``ReductionFactorSchedule`` or its ``[[step, r], ...]`` breakpoints.
      on_change: optional ``on_change(step, r)``, see ``StepSwitch``.
    """

    attribute = "r"

    def __init__(self, schedule, on_change=None):
        super().__init__(on_change)
        if not isinstance(schedule, ReductionFactorSchedule):
            schedule = ReductionFactorSchedule(schedule)
        self.schedule = schedule

    def value_at(self, step):
        return self.schedule(step)

    def targets(self, model):
        return _layers_of_type(model, ReductionProjection)

    def check(self, model):
        for projection in self.targets(model):
            if self.schedule.max_r > projection.max_r:
                raise InvalidInputError(
                    f"The schedule reaches r={self.schedule.max_r}, but {projection.name!r} was "
                    f"built with max_r={projection.max_r}. Build it with a larger max_r."
                )


@gin.register(module="ttszoo.training")
class MonotonicAttentionSwitch(SwitchAtStep):
    """Turns on the stepwise monotonic alignment of every SMA layer from ``start_step`` on.

    The reference trains plain multihead attention first and then switches the monotonic
    enhancement on (keonlee9420's ``sma_tunable``); before ``start_step`` the layers keep the
    switch they were built with. A resumed run past ``start_step`` is switched on at the start
    of training.

    Args:
      start_step: global step (int >= 0) from which the monotonic alignment is used.
      on_change: optional ``on_change(step, True)``, see ``StepSwitch``.
    """

    attribute = "monotonic"

    def __init__(self, start_step, on_change=None):
        _check_step("start_step", start_step)
        super().__init__(start_step, before=None, after=True, on_change=on_change)
        self.start_step = start_step

    def targets(self, model):
        return _layers_of_type(model, StepwiseMonotonicMultiHeadAttention)


@gin.register(module="ttszoo.training")
class DiagonalAttentionForcing(SwitchAtStep):
    """Sets the model's ``diagonal_forcing`` (its guided attention loss) before ``end_step`` only.

    The loss (Tachibana et al. 2017, arXiv 1710.08969, eq. 4; ``ttszoo.losses``) penalises
    encoder-decoder attention far from the diagonal; as-ideas/TransformerTTS forces the
    diagonal for its first steps (``force_decoder_diagonal_steps``) in the same spirit.

    Args:
      end_step: the global step (int >= 0) from which the loss is off.
      on_change: optional ``on_change(step, value)``, see ``StepSwitch``.
    """

    attribute = "diagonal_forcing"

    def __init__(self, end_step, on_change=None):
        _check_step("end_step", end_step)
        super().__init__(end_step, before=True, after=False, on_change=on_change)
        self.end_step = end_step


@gin.register(module="ttszoo.training")
class ScheduledSampling(SwitchAtStep):
    """Sets the model's ``scheduled_sampling_rate`` to ``rate`` from ``start_step`` on.

    From then on a training step first predicts the mel teacher-forced and feeds the decoder
    that prediction in place of the recorded frame with probability ``rate`` (two-pass scheduled
    sampling, docs/references.md, Transformer TTS): the decoder learns to read, and to decide
    when to move on in the text, from frames like its own at inference. Before ``start_step``
    the model keeps the rate it was built with (0: plain teacher forcing). A step costs about
    ``passes`` more forward passes while the rate is above 0.

    Args:
      start_step: the global step (int >= 0) from which ``rate`` applies.
      rate: the share of decoder input frames taken from the prediction, in [0, 1].
      passes: the model's ``scheduled_sampling_passes``, set from the start of training: 1 is
        two-pass scheduled sampling; with k > 1 the chosen frames come from the k-th of k
        passes, each reading the previous one's frames, so they are predicted from frames the
        model predicted itself (docs/transformer_tts.md, point 19).
      on_change: optional ``on_change(step, rate)``, see ``StepSwitch``.
    """

    attribute = "scheduled_sampling_rate"

    def __init__(self, start_step, rate, passes=1, on_change=None):
        _check_step("start_step", start_step)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise InvalidInputError(
                f"rate must be a number in [0, 1] (the share of predicted decoder inputs), "
                f"got {rate!r}."
            )
        if isinstance(passes, bool) or not isinstance(passes, int) or passes < 1:
            raise InvalidInputError(
                f"passes must be a positive int (the passes that predict the sampled frames), "
                f"got {passes!r}."
            )
        super().__init__(start_step, before=None, after=float(rate), on_change=on_change)
        self.start_step = start_step
        self.rate = float(rate)
        self.passes = passes

    def on_train_begin(self, logs=None):
        model = self.model
        if getattr(model, "scheduled_sampling_passes", self.passes) != self.passes:
            model.scheduled_sampling_passes = self.passes
            rebuild_step_functions(model)
        super().on_train_begin(logs)
