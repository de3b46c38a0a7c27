"""DCTTS losses and inference rules against docs/references.md (DCTTS) and independent numpy."""

import numpy as np
import pytest
import tensorflow as tf

from ttszoo.layers import guided_attention_weights
from ttszoo.models.dctts.inference import forcibly_incremental_attention, windowed_scores
from ttszoo.models.dctts.losses import guided_attention_loss, spectrogram_losses

# docs/references.md, Guided attention: W for N = 4, T = 5, g = 0.2, with n/N and t/T.
KNOWN_W = np.array(
    [
        [0.0, 0.393469, 0.864665, 0.988891, 0.999665],
        [0.542167, 0.030767, 0.24516, 0.783735, 0.977206],
        [0.956063, 0.675348, 0.117503, 0.117503, 0.675348],
        [0.999116, 0.977206, 0.783735, 0.24516, 0.030767],
    ]
)


def numpy_w(big_n, big_t, g=0.2):
    n, t = np.arange(big_n)[:, None], np.arange(big_t)[None, :]
    return 1 - np.exp(-((n / big_n - t / big_t) ** 2) / (2 * g * g))


def test_guided_attention_matrix_is_the_known_answer():
    np.testing.assert_allclose(numpy_w(4, 5), KNOWN_W, atol=1e-6)
    weights, mask = guided_attention_weights(tf.constant([4]), tf.constant([5]), 4, 5)
    np.testing.assert_allclose(weights.numpy()[0], KNOWN_W, atol=1e-6)
    assert mask.numpy().all()


def test_guided_attention_uses_each_utterances_n_and_t_and_masks_padding():
    text_length, frame_length = np.array([4, 2]), np.array([5, 3])
    weights, mask = guided_attention_weights(
        tf.constant(text_length), tf.constant(frame_length), 6, 7
    )
    weights, mask = weights.numpy(), mask.numpy()
    for b in range(2):
        n, t = text_length[b], frame_length[b]
        np.testing.assert_allclose(weights[b, :n, :t], numpy_w(n, t), atol=1e-6)
        assert (weights[b, n:] == 0).all() and (weights[b, :, t:] == 0).all()
        assert mask[b].sum() == n * t
    rng = np.random.default_rng(0)
    alignment = rng.random((2, 6, 7)).astype(np.float32)
    expected = sum(
        (alignment[b, :n, :t] * numpy_w(n, t)).sum()
        for b, (n, t) in enumerate(zip(text_length, frame_length, strict=True))
    ) / (4 * 5 + 2 * 3)
    loss = guided_attention_loss(
        tf.constant(alignment), tf.constant(text_length), tf.constant(frame_length)
    )
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)


def test_binary_divergence_is_the_cross_entropy_and_differs_from_d_bin_by_the_entropy():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 6, 3)).astype(np.float32)
    target = rng.uniform(0.05, 0.95, size=(2, 6, 3)).astype(np.float32)
    mask = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], np.float32)
    y = 1 / (1 + np.exp(-logits.astype(np.float64)))
    cross_entropy = -target * np.log(y) - (1 - target) * np.log(1 - y)
    d_bin = -target * np.log(y / target) - (1 - target) * np.log((1 - y) / (1 - target))
    entropy = -target * np.log(target) - (1 - target) * np.log(1 - target)
    np.testing.assert_allclose(d_bin, cross_entropy - entropy, atol=1e-6)
    real = mask[..., None].repeat(3, -1) > 0
    l1, divergence = spectrogram_losses(tf.constant(logits), tf.constant(target), tf.constant(mask))
    np.testing.assert_allclose(float(divergence), cross_entropy[real].mean(), rtol=1e-5)
    np.testing.assert_allclose(float(l1), np.abs(y - target)[real].mean(), rtol=1e-5)


def numpy_fia(probabilities, previous, text_length):
    out, positions = probabilities.copy(), []
    for b, row in enumerate(probabilities):
        n = int(np.argmax(row))
        if not -1 <= n - previous[b] <= 3:
            n = min(previous[b] + 1, text_length[b] - 1)
            out[b] = np.eye(len(row))[n]
        positions.append(n)
    return out, np.array(positions)


def test_forcibly_incremental_attention_follows_the_paper_rule():
    rng = np.random.default_rng(2)
    probabilities = rng.random((7, 10)).astype(np.float32)
    peaks = np.array([0, 3, 4, 8, 9, 2, 9])
    probabilities[np.arange(7), peaks] += 5
    previous = np.array([0, 4, 0, 5, 9, 4, 8])  # moves -> 0, -1, 4 (forced), 3, 0, -2 (forced), 1
    text_length = np.array([10, 10, 10, 10, 10, 10, 9])
    expected, positions = numpy_fia(probabilities, previous, text_length)
    got, got_positions = forcibly_incremental_attention(
        tf.constant(probabilities),
        tf.constant(previous, tf.int32),
        tf.constant(text_length, tf.int32),
    )
    np.testing.assert_allclose(got.numpy(), expected)
    np.testing.assert_array_equal(got_positions.numpy(), positions)
    np.testing.assert_array_equal(positions, [0, 3, 1, 8, 9, 5, 9])


def test_forced_position_is_clamped_to_the_last_symbol():
    probabilities = np.eye(4, dtype=np.float32)[[0]]
    got, position = forcibly_incremental_attention(
        tf.constant(probabilities), tf.constant([3]), tf.constant([4])
    )
    assert int(position[0]) == 3 and got.numpy()[0, 3] == 1.0


def test_dc_window_keeps_previous_to_previous_plus_two():
    scores = windowed_scores(tf.zeros([1, 10]), tf.constant([5]), window=3).numpy()[0]
    assert set(np.flatnonzero(scores > -1e8)) == {5, 6, 7}


@pytest.mark.parametrize("dtype", [tf.float32, tf.bfloat16])
def test_losses_are_float32(dtype):
    l1, divergence = spectrogram_losses(
        tf.zeros([1, 2, 3], dtype), tf.fill([1, 2, 3], 0.5), tf.ones([1, 2])
    )
    assert l1.dtype == divergence.dtype == tf.float32
    np.testing.assert_allclose(float(divergence), np.log(2), rtol=1e-6)
