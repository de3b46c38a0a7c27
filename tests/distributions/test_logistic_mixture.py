"""Tests for DiscretizedMixtureOfLogistics against known answers and independent numpy code."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
from scipy import special, stats

from ttszoo import distributions

tfd = tfp.distributions
tfb = tfp.bijectors


def numpy_pixelcnn_nll(y, logits, means, log_scales, num_classes, log_scale_min=-7.0):
    """The PixelCNN++ / WaveNet-vocoder loss in numpy (docs/references.md, Discretized mixtures)."""
    y = y[..., None]
    log_scales = np.maximum(log_scales, log_scale_min)
    centred = y - means
    inv = np.exp(-log_scales)
    h = 1.0 / (num_classes - 1)
    plus_in = inv * (centred + h)
    min_in = inv * (centred - h)
    cdf_delta = special.expit(plus_in) - special.expit(min_in)
    log_cdf_plus = plus_in - np.logaddexp(0.0, plus_in)
    log_one_minus_cdf_min = -np.logaddexp(0.0, min_in)
    mid_in = inv * centred
    log_pdf_mid = mid_in - log_scales - 2.0 * np.logaddexp(0.0, mid_in)
    with np.errstate(divide="ignore"):
        interior = np.where(
            cdf_delta > 1e-5,
            np.log(np.maximum(cdf_delta, 1e-12)),
            log_pdf_mid - np.log((num_classes - 1) / 2),
        )
    log_p = np.where(y < -0.999, log_cdf_plus, np.where(y > 0.999, log_one_minus_cdf_min, interior))
    log_p = log_p + (logits - special.logsumexp(logits, axis=-1, keepdims=True))
    return -special.logsumexp(log_p, axis=-1)


def random_case(rng, n, num_components, num_classes, log_scale_range, spread=0.05):
    """Targets on the class grid; component means near the target, as a trained net gives."""
    k = rng.integers(0, num_classes, size=n)
    y = 2.0 * k / (num_classes - 1) - 1.0
    logits = rng.normal(size=(n, num_components))
    means = y[:, None] + rng.uniform(-spread, spread, size=(n, num_components))
    log_scales = rng.uniform(*log_scale_range, size=(n, num_components))
    return y, logits, means, log_scales


def mol(logits, means, log_scales, dtype, **kwargs):
    return distributions.DiscretizedMixtureOfLogistics(
        tf.constant(logits, dtype),
        tf.constant(means, dtype),
        tf.constant(log_scales, dtype),
        **kwargs,
    )


def test_known_nll_values():
    num_classes = 65536
    centre = 2.0 * 32768 / 65535 - 1.0
    one = distributions.DiscretizedMixtureOfLogistics(
        tf.zeros([1], tf.float64),
        tf.zeros([1], tf.float64),
        tf.constant([-3.0], tf.float64),
        num_classes=num_classes,
    )
    np.testing.assert_allclose(-one.log_prob(centre).numpy(), 8.783486841924725, atol=1e-9)
    edge = distributions.DiscretizedMixtureOfLogistics(
        tf.zeros([1], tf.float64),
        tf.zeros([1], tf.float64),
        tf.zeros([1], tf.float64),
        num_classes=num_classes,
    )
    np.testing.assert_allclose(-edge.log_prob(-1.0).numpy(), 1.3132505323022532, atol=1e-12)
    # The same answers from the float32 network-output path.
    raw = tf.constant([[0.0, 0.0, -3.0], [0.0, 0.0, 0.0]], tf.float32)
    dist = distributions.DiscretizedMixtureOfLogistics.from_network_output(raw)
    np.testing.assert_allclose(
        -dist.log_prob([centre, -1.0]).numpy(), [8.783486841924725, 1.3132505323022532], atol=2e-5
    )


@pytest.mark.parametrize("dtype,atol", [(tf.float64, 1e-6), (tf.float32, 1e-5)])
def test_matches_numpy_pixelcnn_loss_8bit(dtype, atol):
    rng = np.random.default_rng(0)
    y, logits, means, log_scales = random_case(rng, 4000, 10, 256, (-5.0, -2.0))
    expected = numpy_pixelcnn_nll(y, logits, means, log_scales, 256)
    for reference_edges in (False, True):  # for 8 bits only the extreme classes are edges
        dist = mol(
            logits, means, log_scales, dtype, num_classes=256, reference_edges=reference_edges
        )
        np.testing.assert_allclose(
            -dist.log_prob(tf.constant(y, dtype)).numpy(), expected, atol=atol
        )


@pytest.mark.parametrize("dtype,atol", [(tf.float64, 1e-6), (tf.float32, 2e-3)])
def test_matches_numpy_pixelcnn_loss_16bit(dtype, atol):
    rng = np.random.default_rng(1)
    y, logits, means, log_scales = random_case(rng, 4000, 10, 65536, (-5.0, -2.0))
    y[:40] = np.linspace(0.9991, 1.0, 40)  # the band where the +-0.999 rule applies
    expected = numpy_pixelcnn_nll(y, logits, means, log_scales, 65536)
    reference = mol(logits, means, log_scales, dtype, num_classes=65536, reference_edges=True)
    np.testing.assert_allclose(
        -reference.log_prob(tf.constant(y, dtype)).numpy(), expected, atol=atol
    )
    # Exact edges agree with the reference everywhere outside the +-0.999 band ...
    exact = -mol(logits, means, log_scales, dtype, num_classes=65536).log_prob(
        tf.constant(y, dtype)
    )
    interior = np.abs(y) <= 0.999
    np.testing.assert_allclose(exact.numpy()[interior], expected[interior], atol=atol)
    # ... and inside it give a class only its own bin, which costs more nats than the whole tail.
    band = ~interior & (y < 1.0)
    assert np.all(exact.numpy()[band] > expected[band] + 1.0)


def test_exact_edges_match_numpy_bin_masses_and_sum_to_one():
    num_classes = 65536
    grid = 2.0 * np.arange(num_classes) / (num_classes - 1) - 1.0
    h = 1.0 / (num_classes - 1)
    logits = np.array([0.3, -0.2, 0.1])
    means = np.array([0.998, -0.5, 0.2])
    log_scales = np.array([-3.0, -2.0, -4.0])
    dist = mol(logits, means, log_scales, tf.float64, num_classes=num_classes)
    log_probs = dist.log_prob(tf.constant(grid[:, None], tf.float64)).numpy()[:, 0]
    # Independent: logistic survival-function differences per bin, tails at the two edges.
    scales = np.exp(log_scales)
    upper = np.append(grid[:-1] + h, np.inf)[:, None]
    lower = np.insert(grid[1:] - h, 0, -np.inf)[:, None]
    mass = stats.logistic.sf(lower, means, scales) - stats.logistic.sf(upper, means, scales)
    expected = mass @ special.softmax(logits)
    np.testing.assert_allclose(np.exp(log_probs), expected, rtol=1e-6, atol=1e-300)
    np.testing.assert_allclose(np.exp(log_probs).sum(), 1.0, atol=1e-9)


def test_agrees_with_tfp_quantized_logistic_mixture():
    """The exact distribution equals TFP's QuantizedDistribution construction.

    docs/references.md, Discretized mixtures.
    """
    rng = np.random.default_rng(2)
    num_classes, hi = 256, 255.0
    y, logits, means, log_scales = random_case(rng, 500, 4, num_classes, (-6.0, -1.0), spread=0.3)
    y[:5], y[5:10] = -1.0, 1.0
    loc = (means + 1.0) * hi / 2.0
    scale = np.exp(log_scales) * hi / 2.0
    component = tfd.QuantizedDistribution(
        tfd.TransformedDistribution(tfd.Logistic(loc, scale), tfb.Shift(np.float64(-0.5))),
        low=np.float64(0.0),
        high=np.float64(hi),
    )
    tfp_mixture = tfd.MixtureSameFamily(tfd.Categorical(logits=logits), component)
    k = np.round((y + 1.0) * hi / 2.0)
    ours = mol(logits, means, log_scales, tf.float64, num_classes=num_classes).log_prob(y)
    np.testing.assert_allclose(ours.numpy(), tfp_mixture.log_prob(k).numpy(), atol=1e-8)


def test_samples_follow_class_probabilities_chi_square():
    num_classes = 256
    logits = np.array([1.0, 0.0, -0.5])
    means = np.array([-0.9, 0.1, 0.95])
    log_scales = np.array([-2.5, -3.5, -3.0])
    dist = mol(logits, means, log_scales, tf.float32, num_classes=num_classes)
    grid = 2.0 * np.arange(num_classes) / (num_classes - 1) - 1.0
    probs = np.exp(dist.log_prob(tf.constant(grid, tf.float32)).numpy().astype(np.float64))
    probs /= probs.sum()

    def chi_square_p_value(samples):
        classes = np.round((samples + 1.0) * (num_classes - 1) / 2.0).astype(int)
        counts = np.bincount(classes, minlength=num_classes)
        expected = probs * len(samples)
        big = expected >= 5.0
        observed = np.append(counts[big], counts[~big].sum())
        expected = np.append(expected[big], expected[~big].sum())
        return stats.chisquare(observed, expected).pvalue

    samples = dist.sample(200_000, seed=7).numpy()
    assert samples.min() >= -1.0 and samples.max() <= 1.0
    assert chi_square_p_value(samples) > 1e-3
    # The test has power: a slightly shifted mixture is rejected.
    shifted = mol(logits, means + 0.01, log_scales, tf.float32, num_classes=num_classes)
    assert chi_square_p_value(shifted.sample(200_000, seed=7).numpy()) < 1e-6


def test_sampling_is_seeded_and_shaped():
    raw = tf.random.stateless_normal([2, 5, 30], seed=[1, 2])
    dist = distributions.DiscretizedMixtureOfLogistics.from_network_output(raw)
    first = dist.sample(3, seed=(4, 5))
    assert first.shape == (3, 2, 5) and first.dtype == tf.float32
    np.testing.assert_array_equal(first.numpy(), dist.sample(3, seed=(4, 5)).numpy())
    assert not np.array_equal(first.numpy(), dist.sample(3, seed=(4, 6)).numpy())


def test_mean_is_the_mean_of_clipped_samples():
    logits = np.array([[0.0, 0.5], [1.0, -1.0]])
    means = np.array([[0.95, -0.2], [-0.99, 0.0]])
    log_scales = np.array([[-1.5, -2.0], [-1.0, -3.0]])
    dist = mol(logits, means, log_scales, tf.float64, num_classes=65536)
    samples = dist.sample(400_000, seed=3).numpy()
    standard_error = samples.std(axis=0) / np.sqrt(samples.shape[0])
    assert np.all(np.abs(samples.mean(axis=0) - dist.mean().numpy()) < 4.0 * standard_error)


@pytest.mark.parametrize("num_classes", [256, 65536])
@pytest.mark.parametrize("reference_edges", [False, True])
def test_finite_gradients_at_extreme_parameters(num_classes, reference_edges):
    y = tf.constant([-1.0, 1.0, -1.0, 1.0, 0.0, 0.5, -1.0, 1.0])
    raw = tf.constant(
        [
            [1e4, -1e4, 0.0, 1.0, -1.0, 0.0, -50.0, -50.0, 0.0],  # huge logits, floor log-scale
            [-1e4, 1e4, 0.0, 1.0, -1.0, 0.0, -50.0, -50.0, 0.0],
            [0.0, 0.0, 0.0, 10.0, -10.0, 1.0, -7.0, -7.0, -7.0],  # means far outside [-1, 1]
            [0.0, 0.0, 0.0, -10.0, 10.0, -1.0, -7.0, -7.0, -7.0],
            [0.0, 0.0, 0.0, 0.0, 1e-6, -1e-6, -7.0, 5.0, 30.0],  # very wide scales
            [30.0, 0.0, -30.0, 0.5, 0.5, 0.5, -7.0, -7.0, -7.0],
            [0.0, 0.0, 0.0, -1.0, 1.0, -1.0, -7.0, -7.0, -7.0],  # means exactly at the edges
            [0.0, 0.0, 0.0, 1.0, -1.0, 1.0, -7.0, -7.0, -7.0],
        ]
    )
    with tf.GradientTape() as tape:
        tape.watch(raw)
        dist = distributions.DiscretizedMixtureOfLogistics.from_network_output(
            raw, num_classes=num_classes, reference_edges=reference_edges
        )
        nll = -dist.log_prob(y)
    gradient = tape.gradient(nll, raw)
    assert np.all(np.isfinite(nll.numpy()))
    assert np.all(np.isfinite(gradient.numpy()))


def test_bad_parameters_raise_clear_errors():
    with pytest.raises(ValueError, match="3 \\* M channels"):
        distributions.DiscretizedMixtureOfLogistics.from_network_output(tf.zeros([2, 3, 10]))
    with pytest.raises(ValueError, match="num_classes"):
        distributions.DiscretizedMixtureOfLogistics([0.0], [0.0], [0.0], num_classes=2**17)
    with pytest.raises(ValueError, match="same number of mixture components"):
        distributions.DiscretizedMixtureOfLogistics([0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="log_scale_min"):
        distributions.DiscretizedMixtureOfLogistics([0.0], [0.0], [0.0], log_scale_min=np.nan)
    bad = tf.constant([[0.0, np.nan, 0.0]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="locs contains NaN or Inf"):
        distributions.DiscretizedMixtureOfLogistics.from_network_output(bad, validate_args=True)

    @tf.function
    def graph_log_prob(raw, y):
        dist = distributions.DiscretizedMixtureOfLogistics.from_network_output(
            raw, validate_args=True
        )
        return dist.log_prob(y)

    with pytest.raises(tf.errors.InvalidArgumentError, match="locs contains NaN or Inf"):
        graph_log_prob(bad, tf.zeros([1]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="Targets must lie in \\[-1, 1\\]"):
        graph_log_prob(tf.zeros([1, 3]), tf.constant([1.5]))
