"""Alignment failure metrics (ttszoo.evaluation.alignment) on hand-made alignments."""

import numpy as np
import pytest

from ttszoo.evaluation.alignment import alignment_report, diagonality, failure_rates


def path_alignment(path, symbols):
    """A one-hot [symbols, len(path)] alignment following ``path``."""
    alignment = np.zeros((symbols, len(path)))
    alignment[path, np.arange(len(path))] = 1.0
    return alignment


CLEAN = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_clean_diagonal_alignment_passes():
    report = alignment_report(path_alignment(CLEAN, 6), stopped=True)
    assert not report["failed"]
    assert report["focus_rate"] == 1.0
    assert report["diagonality"] == 1.0


@pytest.mark.parametrize(
    "path, stopped, failure",
    [
        ([0, 0, 1, 1, 6, 6, 7, 7, 8, 9, 9, 9], True, "skip"),  # jumps 4 symbols at once
        ([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4], True, "skip"),  # stops 5 symbols early
        ([0, 1, 2, 3, 4, 5, 6, 2, 3, 4, 5, 6, 7, 8, 9], True, "repeat"),  # falls back 4 symbols
        ([0, 1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3] + [3] * 30 + [4, 5, 6, 7, 8, 9], True, "repeat"),
        (list(range(10)) + [9] * 2, False, "no_stop"),
    ],
)
def test_each_failure_is_detected(path, stopped, failure):
    report = alignment_report(path_alignment(path, 10), stopped=stopped)
    assert report[failure] and report["failed"]
    others = {"skip", "repeat", "no_stop"} - {failure}
    assert not any(report[other] for other in others)


def test_output_length_far_from_the_expected_length_is_a_failure():
    clean = path_alignment(CLEAN, 6)  # 12 outputs
    assert not alignment_report(clean, expected_outputs=12)["failed"]
    assert not alignment_report(clean, expected_outputs=23.9)["failed"]
    too_short = alignment_report(clean, expected_outputs=24.1)
    assert too_short["skip"] and not too_short["repeat"]
    too_long = alignment_report(clean, expected_outputs=5.9)
    assert too_long["repeat"] and not too_long["skip"]
    # The length limit ended it: that is a no-stop, not a length failure.
    unfinished = alignment_report(clean, stopped=False, expected_outputs=100)
    assert unfinished["no_stop"] and not unfinished["skip"]
    with pytest.raises(ValueError, match="length_tolerance"):
        alignment_report(clean, expected_outputs=12, length_tolerance=1.0)


def test_diagonality_of_an_anti_diagonal_alignment_is_low():
    assert diagonality(path_alignment(list(range(9, -1, -1)), 10), band=0.2) < 0.5


def test_failure_rates_average_reports():
    good = alignment_report(path_alignment(CLEAN, 6))
    bad = alignment_report(path_alignment(CLEAN, 6), stopped=False)
    rates = failure_rates([good, bad])
    assert rates["failed"] == 0.5 and rates["no_stop"] == 0.5 and rates["skip"] == 0.0
    with pytest.raises(ValueError):
        failure_rates([])
    with pytest.raises(ValueError, match="non-empty"):
        alignment_report(np.zeros((0, 3)))
