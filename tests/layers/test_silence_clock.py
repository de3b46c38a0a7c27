"""The silence clock: run lengths (hand-computed), its vectors, serialisation, XLA and bfloat16."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ttszoo.layers import SilenceClock, next_silence_run, silence_run_lengths

# Frame means (2 channels each): silent below 0.1.
MEANS = np.array([[0.5, 0.0, 0.02, 0.3, 0.0, 0.0, 0.0], [0.0, 0.0, 0.4, 0.09, 0.1, 0.0, 0.6]])
# Hand-counted runs of silent frames ending at each step (0.1 itself is not below 0.1).
RUNS = [[0, 1, 2, 0, 1, 2, 3], [1, 2, 0, 1, 0, 1, 0]]


def frames():
    return np.stack([MEANS - 0.01, MEANS + 0.01], axis=-1).astype(np.float32)


def test_silence_run_lengths_known_answer():
    np.testing.assert_array_equal(silence_run_lengths(frames(), 0.1).numpy(), RUNS)


def test_next_silence_run_step_by_step_matches_the_whole_sequence():
    run = tf.zeros([2], tf.int32)
    steps = []
    for index in range(MEANS.shape[1]):
        run = next_silence_run(run, frames()[:, index], 0.1)
        steps.append(run.numpy())
    np.testing.assert_array_equal(np.stack(steps, axis=1), RUNS)


def clock_with_increments(max_frames=3, dim=2, seed=0, dtype=None):
    clock = SilenceClock(max_frames, dim, dtype=dtype)
    clock.build((None, None))
    increments = np.random.default_rng(seed).normal(size=(max_frames + 1, dim))
    clock.set_weights([increments.astype(np.float32)])
    return clock, increments


def test_clock_vectors_are_cumulative_sums_capped_at_max_frames():
    clock, increments = clock_with_increments()
    runs = np.array([[0, 1, 2, 3, 4, 40]])
    expected = np.cumsum(increments, axis=0)[np.minimum(runs, 3)]
    np.testing.assert_allclose(clock(runs).numpy(), expected, rtol=1e-6)


def test_untrained_clock_adds_nothing_and_bad_sizes_are_refused():
    clock = SilenceClock(5, 4)
    np.testing.assert_array_equal(clock(np.array([[0, 3, 9]])).numpy(), np.zeros((1, 3, 4)))
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="max_frames must be a positive int"):
            SilenceClock(bad, 4)


def test_keras_round_trip_in_safe_mode(tmp_path):
    clock, _ = clock_with_increments()
    source = keras.Input((None,), dtype="int32")
    model = keras.Model(source, clock(source))
    model.save(tmp_path / "clock.keras")
    loaded = keras.saving.load_model(tmp_path / "clock.keras", safe_mode=True)
    assert isinstance(loaded.layers[1], SilenceClock)
    runs = np.array([[0, 2, 7]], np.int32)
    np.testing.assert_allclose(loaded(runs).numpy(), model(runs).numpy())


def test_jit_compiled_training_step_learns_a_vector_per_run_length():
    clock = SilenceClock(3, 1)
    optimizer = keras.optimizers.Adam(0.1)
    runs = tf.constant([[0, 1, 2, 3, 5]])
    target = tf.constant([[[0.0], [1.0], [3.0], [2.0], [2.0]]])  # 3 and 5 share a vector

    @tf.function(jit_compile=True)
    def step():
        frames = silence_run_lengths(tf.zeros([1, 4, 2]), 0.1)  # the count compiles too
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((clock(runs) - target) ** 2)
        optimizer.apply_gradients(
            zip(tape.gradient(loss, clock.trainable_weights), clock.trainable_weights, strict=True)
        )
        return loss, frames

    for _ in range(300):
        loss, counted = step()
    np.testing.assert_array_equal(counted.numpy(), [[1, 2, 3, 4]])
    np.testing.assert_allclose(clock(runs).numpy(), target.numpy(), atol=1e-3)


def test_mixed_bfloat16_matches_float32():
    clock, _ = clock_with_increments()
    mixed, _ = clock_with_increments(dtype="mixed_bfloat16")
    runs = np.array([[0, 1, 2, 3, 9]])
    output = mixed(runs)
    assert output.dtype == tf.bfloat16
    np.testing.assert_allclose(output.numpy().astype(np.float32), clock(runs).numpy(), atol=0.05)
