"""Text reliance: reversed texts and the copy-the-previous-frame L1, against hand-computed values."""

import numpy as np
import pytest

from ttszoo.evaluation.text_reliance import (
    previous_frame_l1,
    reversed_texts,
    symbol_probe_accuracy,
)


def test_reversed_texts_keep_padding_in_place():
    text = np.array([[5, 6, 7, 0], [3, 4, 0, 0]], np.int32)
    result = reversed_texts(text, [3, 2])
    np.testing.assert_array_equal(result, [[7, 6, 5, 0], [4, 3, 0, 0]])
    assert result.dtype == np.int32
    np.testing.assert_array_equal(text[0], [5, 6, 7, 0])  # the input is not changed


def test_previous_frame_l1_known_answers():
    # One channel, frames 1, 2, 4, 7 (then padding), go value 0.
    mel = np.array([[[1.0], [2.0], [4.0], [7.0], [9.0]]])
    # r = 1: fed 0, 1, 2, 4 -> errors 1, 1, 2, 3 -> 7 / 4.
    assert previous_frame_l1(mel, [4], 1, 0.0) == pytest.approx(7 / 4)
    # r = 2: steps fed 0 (frames 1, 2) and 2 (frames 4, 7) -> errors 1, 2, 2, 5 -> 10 / 4.
    assert previous_frame_l1(mel, [4], 2, 0.0) == pytest.approx(10 / 4)
    # r = 3, go value 1: fed 1 (frames 1, 2, 4) and 4 (frame 7) -> 0, 1, 3, 3 -> 7 / 4.
    assert previous_frame_l1(mel, [4], 3, 1.0) == pytest.approx(7 / 4)
    # Two rows pool their frames: row 2 has two frames 5, 5 at r = 1 -> errors 5, 0.
    two = np.concatenate([mel, np.array([[[5.0], [5.0], [0], [0], [0]]])])
    assert previous_frame_l1(two, [4, 2], 1, 0.0) == pytest.approx((7 + 5) / 6)


def test_symbol_probe_reads_one_hot_features_and_not_noise():
    rng = np.random.default_rng(0)
    symbols = rng.integers(0, 5, size=400)
    symbols[:5] = np.arange(5)  # every symbol in the fitted half
    one_hot = np.eye(5)[symbols]
    accuracy, majority = symbol_probe_accuracy(one_hot, symbols)
    assert accuracy == 1.0
    assert majority == pytest.approx(np.bincount(symbols[200:]).max() / 200)
    # Features that know nothing of the symbol: about chance (1 / 5), never near 1.
    noise_accuracy, _ = symbol_probe_accuracy(rng.normal(size=(400, 8)), symbols)
    assert noise_accuracy < 0.35
    # The symbol mixed with a 50 times larger signal that ignores it: a linear probe still
    # finds it, since the mixture is linear.
    mixed = np.concatenate([one_hot + 50 * rng.normal(size=(400, 1)), rng.normal(size=(400, 3))], 1)
    assert symbol_probe_accuracy(mixed, symbols)[0] > 0.95


@pytest.mark.parametrize(
    "call",
    [
        lambda: reversed_texts(np.zeros(3, np.int32), [3]),
        lambda: previous_frame_l1(np.zeros((1, 4)), [4], 1, 0.0),
        lambda: previous_frame_l1(np.zeros((1, 4, 2)), [4], 0, 0.0),
        lambda: symbol_probe_accuracy(np.zeros((4, 2)), np.zeros(3, int)),
        lambda: symbol_probe_accuracy(np.zeros((4, 2)), np.zeros(4, int), train_fraction=1.0),
    ],
)
def test_bad_shapes_raise_clear_errors(call):
    with pytest.raises(ValueError, match="needs"):
        call()
