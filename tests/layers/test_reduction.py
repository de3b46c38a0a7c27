"""Reduction projection, frame helpers and schedule (docs/references.md, Reduction factor)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ttszoo import layers


def built_projection(channels=3, max_r=10, r=None, input_dim=6, **kwargs):
    projection = layers.ReductionProjection(channels, max_r, r=r, **kwargs)
    projection.build((None, None, input_dim))
    rng = np.random.default_rng(0)
    projection.kernel.assign(rng.normal(size=projection.kernel.shape).astype(np.float32))
    projection.bias.assign(rng.normal(size=projection.bias.shape).astype(np.float32))
    return projection


def test_output_is_the_sliced_dense_unfolded_frame_major():
    projection = built_projection(r=4)
    inputs = np.random.default_rng(1).normal(size=(2, 5, 6)).astype(np.float32)
    kernel, bias = projection.kernel.numpy(), projection.bias.numpy()
    expected = np.zeros((2, 20, 3))
    dense = inputs @ kernel + bias
    for b in range(2):
        for t in range(5):
            for unit in range(4 * 3):
                expected[b, t * 4 + unit // 3, unit % 3] = dense[b, t, unit]
    np.testing.assert_allclose(projection(inputs).numpy(), expected, atol=1e-5)


def test_changing_r_keeps_the_weights_and_slices_the_r10_projection():
    projection = built_projection()
    inputs = np.random.default_rng(2).normal(size=(2, 5, 6)).astype(np.float32)
    count = projection.count_params()
    full = projection(inputs).numpy()  # r = max_r = 10
    projection.r = 5
    assert projection.count_params() == count == 6 * 30 + 30
    half = projection(inputs).numpy()
    assert half.shape == (2, 25, 3)
    first_units = full.reshape(2, 5, 30)[:, :, :15].reshape(2, 25, 3)
    np.testing.assert_allclose(half, first_units, atol=1e-6)


@pytest.mark.parametrize("bad_r", [0, 11, 2.5, True, "5"])
def test_invalid_r_raises(bad_r):
    projection = layers.ReductionProjection(3, max_r=10)
    with pytest.raises(ValueError, match="1 <= r <= max_r=10"):
        projection.r = bad_r
    with pytest.raises(ValueError, match="reduction factor"):
        layers.ReductionProjection(3, max_r=10, r=bad_r)


def test_frame_helpers_known_answer_103_frames_at_r10():
    frames = np.arange(2 * 103 * 2, dtype=np.float32).reshape(2, 103, 2)
    assert layers.reduced_length(103, 10) == 11
    np.testing.assert_array_equal(
        layers.reduced_length(tf.constant([103, 100, 1]), 10), [11, 10, 1]
    )
    decoder_inputs = layers.subsample_frames(frames, 10)
    np.testing.assert_array_equal(
        decoder_inputs, frames[:, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]]
    )
    outputs = built_projection(channels=2, input_dim=2)(decoder_inputs)
    assert outputs.shape == (2, 110, 2)
    assert layers.trim_frames(outputs, 103).shape == (2, 103, 2)
    with pytest.raises(ValueError, match="too few"):
        layers.trim_frames(outputs, 111)


def test_schedule_is_piecewise_constant():
    schedule = layers.ReductionFactorSchedule([[0, 10], [80_000, 5], [100_000, 2], [130_000, 1]])
    assert schedule.max_r == 10
    steps = [0, 79_999, 80_000, 99_999, 100_000, 129_999, 130_000, 10**7]
    assert [schedule(step) for step in steps] == [10, 10, 5, 5, 2, 2, 1, 1]
    assert (
        layers.ReductionFactorSchedule(**schedule.get_config()).breakpoints == schedule.breakpoints
    )


@pytest.mark.parametrize(
    "breakpoints, max_r, message",
    [
        ([], None, "empty"),
        (5, None, r"list of \[step, r\] pairs"),
        ([[0, 2, 3]], None, "two ints"),
        ([[0, 2.0]], None, "two ints"),
        ([[10, 4], [20, 2]], None, "start the schedule at step 0"),
        ([[0, 4], [20, 2], [20, 1]], None, "increase strictly"),
        ([[0, 4], [30, 2], [20, 1]], None, "increase strictly"),
        ([[0, 12]], 10, "outside 1 <= r <= max_r=10"),
        ([[0, 4], [10, 0]], None, "outside 1 <= r"),
    ],
)
def test_schedule_validation(breakpoints, max_r, message):
    with pytest.raises(ValueError, match=message):
        layers.ReductionFactorSchedule(breakpoints, max_r=max_r)


def test_config_and_keras_file_round_trip(tmp_path):
    projection = built_projection(r=3)
    clone = layers.ReductionProjection.from_config(projection.get_config())
    assert (clone.channels, clone.max_r, clone.r) == (3, 10, 3)

    inputs = keras.Input((5, 6))
    model = keras.Model(inputs, layers.ReductionProjection(3, max_r=10, r=3)(inputs))
    path = tmp_path / "projection.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = np.random.default_rng(3).normal(size=(2, 5, 6)).astype(np.float32)
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-6)
    assert loaded.layers[-1].r == 3


def test_jit_compiled_training_step_reduces_the_loss_at_every_r():
    projection = layers.ReductionProjection(2, max_r=4)
    optimizer = keras.optimizers.Adam(0.05)
    rng = np.random.default_rng(4)
    frames = tf.constant(rng.normal(size=(4, 12, 2)).astype(np.float32))
    projection.build((None, None, 2))

    def make_step():
        # r is read at trace time, so every r needs its own compiled function.
        @tf.function(jit_compile=True)
        def step():
            with tf.GradientTape() as tape:
                outputs = projection(layers.subsample_frames(frames, projection.r))
                loss = tf.reduce_mean(tf.abs(layers.trim_frames(outputs, 12) - frames))
            gradients = tape.gradient(loss, projection.trainable_variables)
            optimizer.apply_gradients(zip(gradients, projection.trainable_variables, strict=True))
            return loss

        return step

    for r in (4, 3, 1):
        projection.r = r
        step = make_step()
        losses = [float(step()) for _ in range(15)]
        assert np.isfinite(losses).all()
        assert losses[-1] < losses[0]


def test_mixed_bfloat16_matches_float32():
    reference = built_projection(r=4)
    mixed = layers.ReductionProjection(3, max_r=10, r=4, dtype="mixed_bfloat16")
    mixed.build((None, None, 6))
    mixed.set_weights(reference.get_weights())
    assert mixed.kernel.dtype == "float32"
    x = np.random.default_rng(5).normal(size=(2, 5, 6)).astype(np.float32)
    out = mixed(x)
    assert out.dtype == tf.bfloat16
    np.testing.assert_allclose(
        tf.cast(out, tf.float32).numpy(), reference(x).numpy(), atol=0.1, rtol=0.02
    )
