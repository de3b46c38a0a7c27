"""DTW on sequences whose cheapest path and cost are worked out by hand."""

import numpy as np
import pytest

from ttszoo.evaluation.dtw import dtw, euclidean_costs, l1_costs


def absolute_costs(x, y):
    return np.abs(np.subtract.outer(np.asarray(x, float), np.asarray(y, float)))


def test_a_time_stretched_copy_warps_at_zero_cost():
    warping = dtw(absolute_costs([0, 1, 2], [0, 0, 1, 1, 2]))
    assert warping.total == 0.0 and warping.mean == 0.0
    np.testing.assert_array_equal(warping.path, [[0, 0], [0, 1], [1, 2], [1, 3], [2, 4]])


def test_the_cheapest_path_of_a_hand_worked_example():
    # C = [[0, 4], [1, 3], [4, 0]]. Accumulated: D[0] = [0, 4], D[1] = [1, 3 + 0],
    # D[2] = [5, 0 + min(D[1,0], D[1,1], D[2,0]) = 1]. Back from (2, 1): (1, 0), then (0, 0).
    warping = dtw(absolute_costs([0, 1, 4], [0, 4]))
    assert warping.total == pytest.approx(1.0) and warping.mean == pytest.approx(1 / 3)
    np.testing.assert_array_equal(warping.path, [[0, 0], [1, 0], [2, 1]])


def test_the_path_never_skips_a_frame_of_either_sequence():
    rng = np.random.default_rng(3)
    warping = dtw(rng.random((7, 11)))
    steps = np.diff(warping.path, axis=0)
    assert (warping.path[0] == 0).all() and tuple(warping.path[-1]) == (6, 10)
    assert set(map(tuple, steps)) <= {(1, 1), (0, 1), (1, 0)}


def test_frame_costs_match_numpy():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(3, 5)), rng.normal(size=(4, 5))
    np.testing.assert_allclose(l1_costs(a, b), np.abs(a[:, None] - b[None]).mean(-1), rtol=1e-12)
    np.testing.assert_allclose(
        euclidean_costs(a, b), np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1)), rtol=1e-12
    )


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="non-empty"):
        dtw(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="NaN"):
        dtw(np.array([[np.nan]]))
    with pytest.raises(ValueError, match="same features"):
        l1_costs(np.zeros((2, 3)), np.zeros((2, 4)))
