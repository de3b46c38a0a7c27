"""Known answers for the monotonic recursions, against numpy.

The values are in docs/references.md, Stepwise monotonic attention.
"""

import math

import numpy as np
import pytest
import tensorflow as tf

from ttszoo.layers import monotonic


def numpy_stepwise(p_stay, initial, end_of_memory="leak"):
    """Independent float64 loop over steps and entries of He et al. 2019, eq. (6)."""
    steps, num_keys = p_stay.shape
    previous = initial.astype(np.float64)
    rows = []
    for i in range(steps):
        current = np.zeros(num_keys)
        for j in range(num_keys):
            stay = 1.0 if (end_of_memory == "keep" and j == num_keys - 1) else p_stay[i, j]
            current[j] += previous[j] * stay
            if j + 1 < num_keys:
                current[j + 1] += previous[j] * (1.0 - p_stay[i, j])
        rows.append(current)
        previous = current
    return np.stack(rows)


def numpy_raffel_recursive(p, previous):
    """Independent loop form of Raffel et al. 2017: q_j = (1 - p_{j-1}) q_{j-1} + prev_j."""
    out = np.zeros_like(p)
    carried = 0.0
    for j in range(p.shape[0]):
        carried = (1.0 - p[j - 1]) * carried + previous[j] if j else previous[j]
        out[j] = p[j] * carried
    return out


def logit(p):
    return np.log(p) - np.log1p(-p)


@pytest.mark.parametrize("space", ["log", "probability"])
def test_constant_stay_probability_gives_binomial(space):
    p, steps, num_keys = 0.7, 9, 12
    logits = np.full((1, steps, num_keys), logit(p), np.float32)
    alignment = monotonic.stepwise_monotonic_alignment(logits, space=space).numpy()[0]
    binomial = [math.comb(steps, k) * (1 - p) ** k * p ** (steps - k) for k in range(num_keys)]
    np.testing.assert_allclose(alignment[-1], binomial, atol=1e-6)
    np.testing.assert_allclose(
        alignment[-1, :4], [0.040354, 0.15565, 0.266828, 0.266828], atol=2e-6
    )


@pytest.mark.parametrize("space", ["log", "probability"])
def test_leak_rule_loses_mass_at_the_end(space):
    logits = np.zeros((1, 5, 3), np.float32)  # p = 0.5
    alignment = monotonic.stepwise_monotonic_alignment(
        logits, space=space, end_of_memory="leak"
    ).numpy()[0]
    np.testing.assert_allclose(alignment[-1], [0.03125, 0.15625, 0.3125], atol=1e-7)
    np.testing.assert_allclose(alignment[-1].sum(), 0.5, atol=1e-7)
    reference = numpy_stepwise(np.full((5, 3), 0.5), np.eye(3)[0], "leak")
    np.testing.assert_allclose(alignment, reference, atol=1e-7)


@pytest.mark.parametrize("space", ["log", "probability"])
def test_keep_rule_conserves_mass(space):
    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 2.0, (2, 20, 6))
    alignment = monotonic.stepwise_monotonic_alignment(
        logits.astype(np.float32), space=space, end_of_memory="keep"
    ).numpy()
    np.testing.assert_allclose(alignment.sum(-1), 1.0, atol=1e-5)
    for b in range(2):
        reference = numpy_stepwise(1 / (1 + np.exp(-logits[b])), np.eye(6)[0], "keep")
        np.testing.assert_allclose(alignment[b], reference, atol=1e-6)


def test_log_and_probability_forms_agree_with_numpy():
    rng = np.random.default_rng(1)
    logits = (3.0 * rng.normal(size=(3, 9, 12))).astype(np.float32)
    initial = rng.dirichlet(np.ones(12), size=3).astype(np.float32)
    log_form = monotonic.stepwise_monotonic_alignment(logits, initial, space="log")
    prob_form = monotonic.stepwise_monotonic_alignment(logits, initial, space="probability")
    np.testing.assert_allclose(log_form.numpy(), prob_form.numpy(), atol=1e-6)
    for b in range(3):
        p = 1 / (1 + np.exp(-logits[b].astype(np.float64)))
        reference = numpy_stepwise(p, initial[b], "keep")
        np.testing.assert_allclose(log_form.numpy()[b], reference, atol=1e-6)


@pytest.mark.parametrize("end_of_memory", ["keep", "leak"])
def test_padded_entries_receive_nothing_and_act_as_the_end(end_of_memory):
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(2, 15, 7)).astype(np.float32)
    lengths = np.array([4, 7])
    padded = logits.copy()
    padded[0, :, 4:] = -1e9  # masked energies must not matter
    alignment = monotonic.stepwise_monotonic_alignment(
        padded, key_lengths=lengths, end_of_memory=end_of_memory
    ).numpy()
    np.testing.assert_array_equal(alignment[0, :, 4:], 0.0)
    p = 1 / (1 + np.exp(-logits[0, :, :4].astype(np.float64)))
    reference = numpy_stepwise(p, np.eye(4)[0], end_of_memory)
    np.testing.assert_allclose(alignment[0, :, :4], reference, atol=1e-6)


@pytest.mark.parametrize("space", ["log", "probability"])
def test_long_alignment_has_finite_values_and_gradients(space):
    logits = tf.Variable(tf.random.normal([1, 2000, 500], stddev=3.0, seed=3))

    @tf.function(jit_compile=True)
    def value_and_gradient():
        with tf.GradientTape() as tape:
            alignment = monotonic.stepwise_monotonic_alignment(logits, space=space)
            loss = tf.reduce_sum(alignment * tf.range(500, dtype=tf.float32))
        return alignment, tape.gradient(loss, logits)

    alignment, gradient = value_and_gradient()
    assert np.isfinite(alignment.numpy()).all()
    assert np.isfinite(gradient.numpy()).all()
    assert np.abs(gradient.numpy()).max() > 0
    np.testing.assert_allclose(alignment.numpy().sum(-1), 1.0, atol=1e-3)


def test_hard_alignment_stays_or_moves_one_entry():
    logits = np.array([[[1, -1, -1, -1]] * 2 + [[-1, 1, -1, -1]] * 2 + [[-1] * 4] * 4], np.float32)
    logits = logits.reshape(1, 8, 4)
    alignment = monotonic.stepwise_monotonic_hard_alignment(logits).numpy()[0]
    np.testing.assert_array_equal(alignment.argmax(-1), [0, 0, 1, 1, 2, 3, 3, 3])
    np.testing.assert_array_equal(alignment.sum(-1), 1.0)
    leaked = monotonic.stepwise_monotonic_hard_alignment(logits, end_of_memory="leak").numpy()[0]
    np.testing.assert_array_equal(leaked.sum(-1), [1, 1, 1, 1, 1, 1, 0, 0])


def test_raffel_recursive_and_parallel_agree_with_numpy():
    rng = np.random.default_rng(4)
    p = rng.uniform(0.05, 0.95, (4, 10))
    previous = np.concatenate([np.eye(10)[[0, 3]], rng.dirichlet(np.ones(10), size=2)])
    recursive = monotonic.raffel_monotonic_attention(p, previous, "recursive").numpy()
    parallel = monotonic.raffel_monotonic_attention(p, previous, "parallel").numpy()
    reference = np.stack([numpy_raffel_recursive(p[b], previous[b]) for b in range(4)])
    np.testing.assert_allclose(recursive, reference, atol=1e-6)
    np.testing.assert_allclose(parallel, reference, atol=1e-5)


def test_raffel_constant_probability_and_hard_example():
    p = np.full((1, 6), 0.3)
    alpha = monotonic.raffel_monotonic_attention(p, np.eye(6)[:1], "recursive").numpy()[0]
    np.testing.assert_allclose(alpha, [0.3, 0.21, 0.147, 0.1029, 0.07203, 0.050421], atol=1e-7)
    hard = monotonic.raffel_monotonic_attention(
        np.array([[0, 0, 0, 1, 1, 0, 1, 1]]), np.eye(8)[:1], "hard"
    ).numpy()[0]
    np.testing.assert_array_equal(hard, np.eye(8)[3])


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="space"):
        monotonic.stepwise_monotonic_alignment(np.zeros((1, 2, 3)), space="linear")
    with pytest.raises(ValueError, match="end_of_memory"):
        monotonic.stepwise_monotonic_alignment(np.zeros((1, 2, 3)), end_of_memory="wrap")
    with pytest.raises(ValueError, match=r"\[batch, steps, keys\]"):
        monotonic.stepwise_monotonic_alignment(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="mode"):
        monotonic.raffel_monotonic_attention(np.zeros((1, 3)), np.zeros((1, 3)), "soft")


def unrolled_stepwise(stay_logits, initial, length, end_of_memory):
    """Independent unrolled TF loop (differentiable by autodiff) of the recursion, [B, T, N].

    ``length`` is a [B] array of valid keys."""
    num_keys = stay_logits.shape[2]
    p = tf.sigmoid(stay_logits)
    position = np.arange(num_keys)[None, :]
    length = np.asarray(length)[:, None]
    previous, rows = initial, []
    for i in range(stay_logits.shape[1]):
        stay = p[:, i]
        move = 1.0 - p[:, i]
        if end_of_memory == "keep":
            stay = tf.where(position >= length - 1, 1.0, stay)
        move = tf.where(position >= length - 1, 0.0, move)
        stay = tf.where(position < length, stay, 0.0)
        moved = tf.concat([tf.zeros_like(previous[:, :1]), (previous * move)[:, :-1]], axis=1)
        previous = previous * stay + moved
        rows.append(previous)
    return tf.stack(rows, axis=1)


@pytest.mark.parametrize("space", ["log", "probability"])
@pytest.mark.parametrize("end_of_memory", ["keep", "leak"])
@pytest.mark.parametrize("steps", [1, 7])
def test_custom_gradient_matches_autodiff_of_an_unrolled_loop(space, end_of_memory, steps):
    rng = np.random.default_rng(5)
    logits = tf.constant(rng.normal(0.0, 2.0, (2, steps, 6)).astype(np.float32))
    initial = tf.constant(rng.dirichlet(np.ones(6), size=2).astype(np.float32))
    weights = tf.constant(rng.normal(size=(2, steps, 6)).astype(np.float32))
    lengths = np.array([4, 6])

    def gradients(function):
        with tf.GradientTape() as tape:
            tape.watch([logits, initial])
            loss = tf.reduce_sum(function(logits, initial) * weights)
        return tape.gradient(loss, [logits, initial])

    got = gradients(
        lambda s, a: monotonic.stepwise_monotonic_alignment(
            s, a, lengths, space=space, end_of_memory=end_of_memory
        )
    )
    want = gradients(
        lambda s, a: unrolled_stepwise(
            s, a * (np.arange(6) < lengths[:, None]), lengths, end_of_memory
        )
    )
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.numpy(), w.numpy(), atol=1e-5)
