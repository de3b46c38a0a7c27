"""Text reliance: reversed texts and the copy-the-previous-frame L1, against hand-computed values."""

import numpy as np
import pytest

from ttszoo.evaluation.text_reliance import previous_frame_l1, reversed_texts


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


@pytest.mark.parametrize(
    "call",
    [
        lambda: reversed_texts(np.zeros(3, np.int32), [3]),
        lambda: previous_frame_l1(np.zeros((1, 4)), [4], 1, 0.0),
        lambda: previous_frame_l1(np.zeros((1, 4, 2)), [4], 0, 0.0),
    ],
)
def test_bad_shapes_raise_clear_errors(call):
    with pytest.raises(ValueError, match="needs"):
        call()
