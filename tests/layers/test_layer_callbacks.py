"""The reduction-factor and SMA-switch callbacks inside ``model.fit`` with an XLA train step."""

import keras
import numpy as np
import pytest

from ttszoo import layers


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
    callback = layers.ReductionFactorCallback(
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
    switch = layers.MonotonicAttentionSwitch(start_step=3)
    model.fit((query, key), query, batch_size=2, epochs=1, callbacks=[switch, recorder], verbose=0)
    assert [on for on, _ in recorder.values] == [False, False, False, True, True, True]
    assert True in model.traced
    assert np.isfinite([loss for _, loss in recorder.values]).all()


def test_callbacks_refuse_models_without_their_layer():
    model = SmaModel()
    model.compile(optimizer="adam", loss="mse")
    data = (np.zeros((2, 5, 3), np.float32), np.zeros((2, 4, 3), np.float32))
    callback = layers.ReductionFactorCallback([[0, 2]])
    with pytest.raises(ValueError, match="no ReductionProjection"):
        model.fit(data, data[0], callbacks=[callback], verbose=0)


def test_schedule_beyond_the_projection_max_r_is_refused():
    model = TeacherForcedDecoder(channels=2, max_r=4)
    model.compile(optimizer="adam", loss="mae")
    frames = np.zeros((2, 12, 2), np.float32)
    callback = layers.ReductionFactorCallback([[0, 6], [5, 2]])
    with pytest.raises(ValueError, match="larger max_r"):
        model.fit(frames, frames, callbacks=[callback], verbose=0)


def test_switch_validates_start_step():
    with pytest.raises(ValueError, match="start_step"):
        layers.MonotonicAttentionSwitch(-1)
