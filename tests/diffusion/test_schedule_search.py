"""Tests for the schedule grids, the search, and the log-mel distance that scores it."""

import numpy as np
import tensorflow as tf

from ttszoo import diffusion
from ttszoo.evaluation.logmel import log_mel_distance


def test_wavegrad_grid():
    grid = diffusion.wavegrad_grid(6, (1e-6, 1e-2))
    assert len(grid) == 35_113
    exponents = 1e-6 * 10.0 ** (0.8 * np.arange(6))
    np.testing.assert_allclose(grid[0], exponents, rtol=1e-12)
    digits = np.array(grid) / exponents
    np.testing.assert_allclose(digits, np.round(digits), atol=1e-9)
    assert np.round(digits).min() == 1 and np.round(digits).max() == 9
    # Independent count: states 111111 + 9 k, k < 9**5, without a zero digit.
    states = 111111 + 9 * np.arange(9**5)
    assert sum("0" not in str(s) for s in states) == len(grid)


def test_mantissa_exponent_grid():
    grid = np.array(diffusion.mantissa_exponent_grid(6, search_level=3, seed=0))
    assert grid.shape == (729, 6)
    mantissas = grid / 10.0 ** np.linspace(-6, -1, 6)
    assert len(np.unique(np.round(mantissas, 9))) == 3
    assert np.all((mantissas > 0) & (mantissas < 10))


def test_log_mel_distance_is_zero_for_identical_signals_and_grows_with_noise():
    rng = np.random.default_rng(0)
    t = np.arange(8000) / 16000.0
    clean = (0.5 * np.sin(2 * np.pi * 440 * t))[None].astype(np.float32)
    noise = rng.normal(size=clean.shape).astype(np.float32)
    assert float(log_mel_distance(clean, clean, 16000)[0]) == 0.0
    distances = [
        float(log_mel_distance(clean + amplitude * noise, clean, 16000)[0])
        for amplitude in (0.001, 0.01, 0.1, 1.0)
    ]
    assert all(a < b for a, b in zip(distances, distances[1:], strict=False))


def test_search_finds_the_schedule_that_made_the_reference():
    def denoiser(y, conditioning, level):
        return 0.5 * tf.tanh(3.0 * y * level[:, tf.newaxis]) + conditioning

    candidates = diffusion.mantissa_exponent_grid(3, search_level=2, seed=1)
    candidates.append([0.5, 1.5, 0.1])  # invalid (beta >= 1): skipped with an infinite score
    truth = diffusion.NoiseSchedule(candidates[5])
    conditioning = tf.constant([[0.05], [-0.05]])
    reference = diffusion.DiffusionSampler(denoiser, truth).sample(conditioning, 2048, seed=9)
    best, scores = diffusion.search_schedule(
        denoiser, conditioning, reference, candidates, sample_rate=16000, seed=9,
        progress=False, mel_kwargs={"n_fft": 256, "hop_length": 64, "num_mels": 20},
    )  # fmt: skip
    assert scores.shape == (9,) and np.isinf(scores[-1])
    assert scores[5] == 0.0 and np.all(np.delete(scores, 5) > 0.0)
    np.testing.assert_array_equal(best.betas, truth.betas)
