"""Tests for NoiseSchedule: known noise levels, named schedules, DiffWave steps, JSON, errors."""

import json

import numpy as np
import pytest
import tensorflow as tf

from ttszoo import diffusion


def test_training_noise_level_table_matches_numpy():
    schedule = diffusion.NoiseSchedule.linear()
    betas = np.linspace(1e-6, 0.01, 1000)
    table = np.concatenate([[1.0], np.sqrt(np.cumprod(1.0 - betas))])
    assert schedule.num_steps == 1000 and schedule.noise_level_table.shape == (1001,)
    np.testing.assert_allclose(schedule.noise_level_table, table, rtol=1e-12)
    assert schedule.noise_level_table[0] == 1.0
    np.testing.assert_allclose(
        schedule.noise_level_table[1:4], [0.9999995, 0.999994, 0.9999835], atol=1e-7
    )
    np.testing.assert_allclose(schedule.noise_level_table[1000], 0.0813796, atol=1e-6)
    alpha_bar_prev = np.concatenate([[1.0], np.cumprod(1.0 - betas)[:-1]])
    variances = (1.0 - alpha_bar_prev) / (1.0 - np.cumprod(1.0 - betas)) * betas
    np.testing.assert_allclose(schedule.posterior_variances, variances, rtol=1e-12)
    assert schedule.posterior_variances[0] == 0.0


def test_named_inference_schedules():
    np.testing.assert_allclose(
        diffusion.NoiseSchedule.inference(6).betas,
        [1e-06, 1.89287e-05, 0.000119432, 0.00100475, 0.0110943, 0.06],
    )
    np.testing.assert_allclose(
        diffusion.NoiseSchedule.inference(6).noise_levels[-1], 0.96359, atol=1e-5
    )
    assert diffusion.NoiseSchedule.inference(7).betas[3] == 0.0001
    assert diffusion.NoiseSchedule.inference(12).betas[9] == 0.0149905
    fibonacci = [1e-6, 2e-6]
    while len(fibonacci) < 25:
        fibonacci.append(fibonacci[-1] + fibonacci[-2])
    np.testing.assert_allclose(diffusion.NoiseSchedule.inference(25).betas, fibonacci, rtol=1e-12)
    np.testing.assert_allclose(diffusion.NoiseSchedule.inference(25).betas[-1], 0.121393)
    for iterations in (50, 100, 1000):
        schedule = diffusion.NoiseSchedule.inference(iterations)
        assert schedule.num_steps == iterations
        np.testing.assert_allclose(schedule.betas, np.repeat(fibonacci, iterations // 25))
    with pytest.raises(ValueError, match="No named WaveGrad schedule for 8"):
        diffusion.NoiseSchedule.inference(8)
    with pytest.raises(ValueError, match="Unknown noise schedule"):
        diffusion.NoiseSchedule.named("wavegrad-paper-6")


def test_diffwave_fractional_steps():
    fast = diffusion.NoiseSchedule.named("diffwave-6")
    train = diffusion.NoiseSchedule.named("diffwave-train")
    np.testing.assert_allclose(
        fast.alphas_cumprod, [0.9999, 0.9989, 0.988911, 0.939466, 0.751572, 0.375786], atol=2e-6
    )
    steps = fast.fractional_steps(train)
    np.testing.assert_allclose(steps, [0, 0.8941, 4.0867, 10.4518, 22.9925, 42.9186], atol=1e-4)
    assert np.all(np.diff(steps) > 0)
    # An alpha_bar beyond the training range (more noise than training ever added) has no step.
    with pytest.raises(ValueError, match="Inference step 5 has alpha_bar"):
        diffusion.NoiseSchedule([1e-4, 1e-3, 0.01, 0.05, 0.2, 0.9]).fractional_steps(train)
    with pytest.raises(ValueError, match="Inference step 0 has alpha_bar"):
        diffusion.NoiseSchedule([1e-6, 0.1]).fractional_steps(train)


@pytest.mark.parametrize(
    "betas", [[0.1, 0.0], [0.1, 1.0], [-0.1], [0.1, np.nan], [], [[0.1, 0.2]], [0.5, 2.0]]
)
def test_invalid_betas_raise(betas):
    with pytest.raises(ValueError, match="betas|beta\\["):
        diffusion.NoiseSchedule(betas)


def test_fibonacci_schedule_of_any_length():
    schedule = diffusion.NoiseSchedule.fibonacci(1e-4, 3e-4, num_steps=6)
    # 1e-4, 3e-4, then each beta the sum of the two before it.
    np.testing.assert_allclose(schedule.betas, [1e-4, 3e-4, 4e-4, 7e-4, 11e-4, 18e-4], rtol=1e-12)
    assert schedule.name == "fibonacci-6" and schedule.num_steps == 6
    with pytest.raises(ValueError):
        diffusion.NoiseSchedule.fibonacci(num_steps=30)  # the 30th beta is 1.35


def test_json_round_trip(tmp_path):
    schedule = diffusion.NoiseSchedule.inference(12)
    path = tmp_path / "schedule.json"
    schedule.save(path)
    assert json.loads(path.read_text())["name"] == "wavegrad-12"
    restored = diffusion.NoiseSchedule.load(path)
    np.testing.assert_array_equal(restored.betas, schedule.betas)
    assert restored.name == "wavegrad-12"
    (tmp_path / "bad.json").write_text('{"beta": [0.1]}')
    with pytest.raises(ValueError, match="not a noise schedule JSON file"):
        diffusion.NoiseSchedule.load(tmp_path / "bad.json")


def test_continuous_noise_levels_lie_between_table_entries():
    schedule = diffusion.NoiseSchedule.linear()
    table = schedule.noise_level_table
    steps = np.array([1, 2, 500, 999, 1000] * 40, np.int32)
    levels = schedule.sample_noise_level(len(steps), seed=5, steps=steps).numpy()
    assert np.all(levels <= table[steps - 1] + 1e-7) and np.all(levels >= table[steps] - 1e-7)
    assert len(np.unique(levels)) > 150  # continuous, not snapped to the table

    @tf.function(jit_compile=True)
    def compiled(seed):
        return schedule.sample_noise_level(4096, seed)

    drawn = compiled(tf.constant([1, 2])).numpy()
    np.testing.assert_array_equal(drawn, compiled(tf.constant([1, 2])).numpy())
    assert drawn.min() >= table[-1] - 1e-7 and drawn.max() <= 1.0
    # Steps are uniform, so about half of the levels lie above the median table entry.
    assert 0.45 < np.mean(drawn > table[500]) < 0.55


def test_diffuse_mixes_audio_and_noise():
    audio = tf.constant([[0.5, -0.5]])
    noise = tf.constant([[1.0, 2.0]])
    noisy = diffusion.diffuse(audio, tf.constant([0.6]), noise)
    np.testing.assert_allclose(noisy.numpy(), [[0.3 + 0.8, -0.3 + 1.6]], rtol=1e-6)
