"""ttszoo.losses against numpy on hand-built masks: masked mean, masked L1, guided attention."""

import numpy as np
import pytest
import tensorflow as tf

from ttszoo.losses import guided_attention_loss, masked_l1, masked_mean

# Two utterances, 4 padded frames: the first has 3 real frames, the second 1.
MASK = np.array([[1, 1, 1, 0], [1, 0, 0, 0]], np.float32)


def test_masked_mean_counts_every_channel_of_the_valid_frames_once():
    values = np.arange(2 * 4 * 2, dtype=np.float32).reshape(2, 4, 2)
    # Valid: frames 0-2 of row 0 (values 0..5) and frame 0 of row 1 (values 8, 9).
    expected = (0 + 1 + 2 + 3 + 4 + 5 + 8 + 9) / 8
    assert float(masked_mean(tf.constant(values), tf.constant(MASK > 0))) == pytest.approx(expected)


def test_masked_l1_ignores_padding_whatever_it_holds():
    rng = np.random.default_rng(0)
    prediction = rng.normal(size=(2, 4, 3)).astype(np.float32)
    target = rng.normal(size=(2, 4, 3)).astype(np.float32)
    error = np.abs(prediction - target)
    expected = (error * MASK[:, :, None]).sum() / (MASK.sum() * 3)
    got = masked_l1(tf.constant(prediction), tf.constant(target), tf.constant(MASK))
    assert got.dtype == tf.float32
    np.testing.assert_allclose(float(got), expected, rtol=1e-6)
    prediction[MASK == 0] = 1e6
    got = masked_l1(tf.constant(prediction), tf.constant(target), tf.constant(MASK))
    np.testing.assert_allclose(float(got), expected, rtol=1e-6)


def test_masked_losses_of_an_empty_mask_are_zero():
    zeros = tf.zeros([1, 2, 3])
    assert float(masked_l1(zeros + 1.0, zeros, tf.zeros([1, 2]))) == 0.0


def numpy_guide(big_n, big_t, g=0.2):
    n, t = np.arange(big_n)[:, None], np.arange(big_t)[None, :]
    return 1 - np.exp(-((n / big_n - t / big_t) ** 2) / (2 * g * g))


def test_guided_attention_loss_is_the_expected_penalty_per_valid_query():
    steps, symbols = np.array([5, 3]), np.array([4, 2])
    rng = np.random.default_rng(1)
    alignment = rng.random((2, 7, 6)).astype(np.float32)  # [B, queries, keys], padded
    penalty = sum(
        (alignment[b, :t, :n] * numpy_guide(n, t).T).sum()
        for b, (t, n) in enumerate(zip(steps, symbols, strict=True))
    )
    expected = penalty / (5 + 3)  # per valid query, not per (n, t) cell
    got = guided_attention_loss(tf.constant(alignment), tf.constant(steps), tf.constant(symbols))
    np.testing.assert_allclose(float(got), expected, rtol=1e-5)


def test_guided_attention_loss_of_a_diagonal_alignment_is_zero_and_of_a_flipped_one_is_high():
    # N = T: the one-hot diagonal n = t sits where the guide is 0.
    diagonal = np.eye(6, dtype=np.float32)[None]
    length = tf.constant([6])
    assert float(guided_attention_loss(diagonal, length, length)) == pytest.approx(0.0, abs=1e-7)
    flipped = diagonal[:, ::-1]
    expected = np.mean([numpy_guide(6, 6)[5 - t, t] for t in range(6)])
    got = float(guided_attention_loss(flipped, length, length))
    assert got == pytest.approx(expected, rel=1e-5) and got > 0.5


def test_guided_attention_loss_needs_a_three_dimensional_alignment():
    with pytest.raises(ValueError, match="queries, keys"):
        guided_attention_loss(tf.zeros([4, 5]), tf.constant([4]), tf.constant([5]))
