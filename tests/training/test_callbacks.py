"""The step-switch callbacks inside ``model.fit`` with an XLA train step, and their gin names."""

import keras
import numpy as np
import pytest

from ttszoo import layers, training
from ttszoo.training import callbacks


class TeacherForcedDecoder(keras.Model):
    """Predicts frames from every r-th frame: the reduction-factor teacher-forcing pattern."""

    def __init__(self, channels, max_r, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(8, activation="tanh")
        self.projection = layers.ReductionProjection(channels, max_r)
        self.traced = []  # r at each trace: shows the compiled step really changes

    def call(self, frames):
        self.traced.append(self.projection.r)
        steps = layers.subsample_frames(frames, self.projection.r)
        outputs = self.projection(self.hidden(steps))
        return layers.trim_frames(outputs, frames.shape[1])


class SmaModel(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.attention = layers.StepwiseMonotonicMultiHeadAttention(num_heads=2, key_dim=4)
        self.traced = []

    def call(self, inputs):
        self.traced.append(self.attention.monotonic)
        query, key = inputs
        return self.attention(query, key)[0]


class Recorder(keras.callbacks.Callback):
    def __init__(self, read):
        super().__init__()
        self.read = read
        self.values = []

    def on_train_batch_end(self, batch, logs=None):
        self.values.append((self.read(self.model), logs["loss"]))


def test_reduction_factor_schedule_applied_during_fit():
    model = TeacherForcedDecoder(channels=2, max_r=4)
    model.compile(optimizer="adam", loss="mae", jit_compile=True)
    frames = np.random.default_rng(0).normal(size=(16, 12, 2)).astype(np.float32)
    changes = []
    callback = callbacks.ReductionFactorCallback(
        [[0, 4], [3, 2], [6, 1]], on_change=lambda step, r: changes.append((step, r))
    )
    recorder = Recorder(lambda m: m.projection.r)
    model.fit(frames, frames, batch_size=2, epochs=1, callbacks=[callback, recorder], verbose=0)
    assert [r for r, _ in recorder.values] == [4, 4, 4, 2, 2, 2, 1, 1]
    assert changes == [(3, 2), (6, 1)]
    assert {2, 1} <= set(model.traced)
    assert np.isfinite([loss for _, loss in recorder.values]).all()


def test_monotonic_switch_applied_during_fit():
    model = SmaModel()
    model.compile(optimizer="adam", loss="mse", jit_compile=True)
    rng = np.random.default_rng(1)
    query = rng.normal(size=(12, 5, 3)).astype(np.float32)
    key = rng.normal(size=(12, 4, 3)).astype(np.float32)
    recorder = Recorder(lambda m: m.attention.monotonic)
    switch = callbacks.MonotonicAttentionSwitch(start_step=3)
    model.fit((query, key), query, batch_size=2, epochs=1, callbacks=[switch, recorder], verbose=0)
    assert [on for on, _ in recorder.values] == [False, False, False, True, True, True]
    assert True in model.traced
    assert np.isfinite([loss for _, loss in recorder.values]).all()


def test_callbacks_refuse_models_without_their_layer():
    model = SmaModel()
    model.compile(optimizer="adam", loss="mse")
    data = (np.zeros((2, 5, 3), np.float32), np.zeros((2, 4, 3), np.float32))
    callback = callbacks.ReductionFactorCallback([[0, 2]])
    with pytest.raises(ValueError, match="no ReductionProjection"):
        model.fit(data, data[0], callbacks=[callback], verbose=0)


def test_schedule_beyond_the_projection_max_r_is_refused():
    model = TeacherForcedDecoder(channels=2, max_r=4)
    model.compile(optimizer="adam", loss="mae")
    frames = np.zeros((2, 12, 2), np.float32)
    callback = callbacks.ReductionFactorCallback([[0, 6], [5, 2]])
    with pytest.raises(ValueError, match="larger max_r"):
        model.fit(frames, frames, callbacks=[callback], verbose=0)


def test_switch_validates_start_step():
    with pytest.raises(ValueError, match="start_step"):
        callbacks.MonotonicAttentionSwitch(-1)


class ForcedModel(keras.Model):
    """A model with a ``diagonal_forcing`` flag read at trace time, like Transformer TTS."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(2)
        self.diagonal_forcing = False
        self.traced = []

    def call(self, inputs):
        self.traced.append(self.diagonal_forcing)
        return self.dense(inputs) * (2.0 if self.diagonal_forcing else 1.0)


def test_diagonal_forcing_is_on_before_end_step_only():
    model = ForcedModel()
    model.compile(optimizer="adam", loss="mse", jit_compile=True)
    data = np.ones((10, 2), np.float32)
    changes = []
    forcing = callbacks.DiagonalAttentionForcing(
        end_step=2, on_change=lambda step, value: changes.append((step, value))
    )
    recorder = Recorder(lambda m: m.diagonal_forcing)
    model.fit(data, data, batch_size=2, epochs=1, callbacks=[forcing, recorder], verbose=0)
    assert [on for on, _ in recorder.values] == [True, True, False, False, False]
    assert changes == [(0, True), (2, False)]
    assert model.traced[-1] is False and True in model.traced


def test_scheduled_sampling_sets_its_rate_from_start_step():
    model = ForcedModel()
    model.scheduled_sampling_rate = 0.0
    model.compile(optimizer="adam", loss="mse")
    data = np.ones((8, 2), np.float32)
    sampling = callbacks.ScheduledSampling(start_step=3, rate=0.25)
    recorder = Recorder(lambda m: m.scheduled_sampling_rate)
    model.fit(data, data, batch_size=2, epochs=1, callbacks=[sampling, recorder], verbose=0)
    assert [rate for rate, _ in recorder.values] == [0.0, 0.0, 0.0, 0.25]
    for rate in (-0.1, 1.5, True, "half"):
        with pytest.raises(ValueError, match=r"rate must be a number in \[0, 1\]"):
            callbacks.ScheduledSampling(0, rate)


def test_scheduled_sampling_sets_its_passes_from_the_start_of_training():
    model = ForcedModel()
    model.scheduled_sampling_rate = 0.0
    model.scheduled_sampling_passes = 1
    model.compile(optimizer="adam", loss="mse")
    data = np.ones((8, 2), np.float32)
    sampling = callbacks.ScheduledSampling(start_step=3, rate=0.25, passes=3)
    recorder = Recorder(lambda m: m.scheduled_sampling_passes)
    model.fit(data, data, batch_size=2, epochs=1, callbacks=[sampling, recorder], verbose=0)
    assert [passes for passes, _ in recorder.values] == [3, 3, 3, 3]
    for passes in (0, 1.5, True):
        with pytest.raises(ValueError, match="passes must be a positive int"):
            callbacks.ScheduledSampling(0, 0.5, passes=passes)


def test_a_switch_needs_its_attribute_on_the_model():
    model = keras.Sequential([keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    data = np.ones((2, 2), np.float32)
    with pytest.raises(ValueError, match="no 'diagonal_forcing' attribute"):
        model.fit(data, data, callbacks=[callbacks.DiagonalAttentionForcing(1)], verbose=0)


def test_switch_at_step_values():
    switch = callbacks.SwitchAtStep(3, before="a", after="b")
    assert [switch.value_at(step) for step in range(5)] == ["a", "a", "a", "b", "b"]
    with pytest.raises(ValueError, match="end_step"):
        callbacks.DiagonalAttentionForcing(1.5)


def test_gin_names_are_registered_by_the_training_package():
    import gin

    assert training.ReductionFactorCallback is callbacks.ReductionFactorCallback
    gin.clear_config()
    try:
        gin.parse_config(
            "ttszoo.training.ReductionFactorCallback.schedule = [[0, 4], [2, 1]]\n"
            "MonotonicAttentionSwitch.start_step = 5\n"
            "DiagonalAttentionForcing.end_step = 7\n"
        )
        reduction = gin.get_configurable("ReductionFactorCallback")()
        switch = gin.get_configurable("MonotonicAttentionSwitch")()
        forcing = gin.get_configurable("DiagonalAttentionForcing")()
    finally:
        gin.clear_config()
    assert isinstance(reduction, callbacks.StepSwitch) and reduction.value_at(3) == 1
    assert isinstance(switch, callbacks.SwitchAtStep) and switch.start_step == 5
    assert isinstance(forcing, callbacks.SwitchAtStep) and forcing.value_at(6) is True
