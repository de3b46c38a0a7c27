"""Tests for DiscretizedGaussian and the continuous Gaussian mixture against scipy."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import special, stats

from ttszoo import distributions


def numpy_discretized_gaussian_log_probs(grid, logits, means, log_scales, num_classes):
    """Exact class log-probabilities by normal CDF differences (tails to the edge classes)."""
    h = 1.0 / (num_classes - 1)
    scales = np.exp(log_scales)
    upper = np.append(grid[:-1] + h, np.inf)[:, None]
    lower = np.insert(grid[1:] - h, 0, -np.inf)[:, None]
    # Survival functions on the right half and CDFs on the left keep float64 accurate.
    right = stats.norm.sf(lower, means, scales) - stats.norm.sf(upper, means, scales)
    left = stats.norm.cdf(upper, means, scales) - stats.norm.cdf(lower, means, scales)
    mass = np.where(grid[:, None] > means, right, left)
    return np.log(mass @ special.softmax(logits))


@pytest.mark.parametrize("dtype,rtol", [(tf.float64, 1e-8), (tf.float32, 1e-4)])
@pytest.mark.parametrize("num_classes", [256, 65536])
def test_matches_scipy_bin_masses(dtype, rtol, num_classes):
    grid = 2.0 * np.arange(num_classes) / (num_classes - 1) - 1.0
    logits = np.array([0.5, -0.3])
    means = np.array([0.3, -0.97])
    log_scales = np.array([-2.5, -3.0])
    dist = distributions.DiscretizedGaussian(
        tf.constant(logits, dtype),
        tf.constant(means, dtype),
        tf.constant(log_scales, dtype),
        num_classes=num_classes,
    )
    log_probs = dist.log_prob(tf.constant(grid, dtype)).numpy()
    expected = numpy_discretized_gaussian_log_probs(grid, logits, means, log_scales, num_classes)
    likely = expected > -30.0  # float32 cannot hold the far tails' relative precision
    np.testing.assert_allclose(log_probs[likely], expected[likely], rtol=rtol, atol=1e-6)
    np.testing.assert_allclose(np.exp(log_probs.astype(np.float64)).sum(), 1.0, atol=1e-5)


def test_two_channels_are_one_gaussian():
    raw = tf.constant([[0.2, -2.0]], tf.float64)
    dist = distributions.DiscretizedGaussian.from_network_output(raw, num_classes=256)
    h = 1.0 / 255
    y = 2.0 * 140 / 255 - 1.0
    scale = np.exp(-2.0)
    expected = np.log(stats.norm.cdf(y + h, 0.2, scale) - stats.norm.cdf(y - h, 0.2, scale))
    np.testing.assert_allclose(dist.log_prob([y]).numpy(), [expected], rtol=1e-10)
    with pytest.raises(ValueError, match="3 \\* M channels"):
        distributions.DiscretizedGaussian.from_network_output(tf.zeros([4, 4]))


def test_samples_follow_class_probabilities_and_mean():
    num_classes = 256
    dist = distributions.DiscretizedGaussian(
        tf.constant([0.0, 0.7]),
        tf.constant([0.9, -0.3]),
        tf.constant([-2.0, -3.0]),
        num_classes=num_classes,
    )
    grid = 2.0 * np.arange(num_classes) / (num_classes - 1) - 1.0
    probs = np.exp(dist.log_prob(tf.constant(grid, tf.float32)).numpy().astype(np.float64))
    probs /= probs.sum()
    samples = dist.sample(200_000, seed=11).numpy()
    classes = np.round((samples + 1.0) * (num_classes - 1) / 2.0).astype(int)
    counts = np.bincount(classes, minlength=num_classes)
    expected = probs * len(samples)
    big = expected >= 5.0
    p_value = stats.chisquare(
        np.append(counts[big], counts[~big].sum()), np.append(expected[big], expected[~big].sum())
    ).pvalue
    assert p_value > 1e-3
    standard_error = samples.std() / np.sqrt(len(samples))
    assert abs(samples.mean() - float(dist.mean())) < 4.0 * standard_error


def test_finite_gradients_at_extreme_parameters():
    y = tf.constant([-1.0, 1.0, 1.0, -1.0, 0.0])
    raw = tf.constant(
        [
            [1e4, -1e4, 0.0, 1.0, -50.0, -50.0],
            [0.0, 0.0, -10.0, 10.0, -16.2, -16.2],
            [0.0, 0.0, 1.0, -1.0, -16.2, 3.0],
            [0.0, 0.0, -1.0, 1.0, -16.2, -16.2],
            [0.0, 0.0, 0.5, -0.5, -16.2, 20.0],
        ]
    )
    for reference_edges in (False, True):
        with tf.GradientTape() as tape:
            tape.watch(raw)
            nll = -distributions.DiscretizedGaussian.from_network_output(
                raw, reference_edges=reference_edges
            ).log_prob(y)
        assert np.all(np.isfinite(nll.numpy()))
        assert np.all(np.isfinite(tape.gradient(nll, raw).numpy()))


def test_continuous_gaussian_mixture_matches_scipy_density():
    rng = np.random.default_rng(5)
    raw = rng.normal(size=(7, 9))
    y = rng.uniform(-1, 1, size=7)
    mixture = distributions.gaussian_mixture_from_network_output(raw)
    logits, means, log_scales = np.split(raw, 3, axis=-1)
    scales = np.exp(np.maximum(log_scales, -7.0))
    expected = special.logsumexp(
        stats.norm.logpdf(y[:, None], means, scales) + special.log_softmax(logits, axis=-1), axis=-1
    )
    np.testing.assert_allclose(mixture.log_prob(y).numpy(), expected, rtol=1e-10)
    single = distributions.gaussian_mixture_from_network_output(tf.constant([[0.1, -1.0]]))
    np.testing.assert_allclose(
        single.log_prob([0.3]).numpy(), stats.norm.logpdf(0.3, 0.1, np.exp(-1.0)), rtol=1e-5
    )
