"""Alignment failure metrics (ttszoo.evaluation.alignment) on hand-made alignments."""

import numpy as np
import pytest

from ttszoo.evaluation.alignment import (
    alignment_report,
    attention_spread,
    diagonality,
    failure_rates,
    focus_rate,
    stall_runs,
)


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
        ([0, 1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3] + [3] * 30 + [4, 5, 6, 7, 8, 9], True, "stall"),
        # Creeps between two neighbours for 20 outputs: no run on one symbol is long.
        ([0, 1, 2, 3] + [4, 3] * 10 + [5, 6, 7, 8, 9], True, "stall"),
        (list(range(10)) + [9] * 2, False, "no_stop"),
    ],
)
def test_each_failure_is_detected(path, stopped, failure):
    report = alignment_report(path_alignment(path, 10), stopped=stopped)
    assert report[failure] and report["failed"]
    assert all(type(report[key]) is bool for key in ("skip", "repeat", "stall", "no_stop"))
    others = {"skip", "repeat", "stall", "no_stop"} - {failure}
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


def test_forced_columns_never_count_as_progress():
    # The model's own peak stays on symbol 2 for 12 outputs while a rule forces every other
    # column one symbol on (3, 4, ..., 7): the path looks like steady progress, but only the
    # unforced outputs reach anything, so this is a stall of 12 outputs (from output 3 to 14).
    path = [0, 1, 2] + [3, 2, 4, 2, 5, 2, 6, 2, 7, 2, 8, 2] + [9]
    forced = np.zeros(len(path), bool)
    forced[3:15:2] = True
    alignment = path_alignment(path, 10)
    ruled = alignment_report(alignment, forced=forced, max_stay=8)
    assert ruled["stall"] and ruled["longest_stall"] == 12
    # Read without the mask, the same alignment moves on every other output. (The unforced
    # peaks at 2 fall back below the forced ones: with the mask they are no repeat.)
    unruled = alignment_report(alignment, max_stay=8)
    assert not unruled["stall"] and unruled["longest_stall"] == 1 and unruled["repeat"]
    # Its own last peak (9) is 7 symbols beyond its own furthest (2): a skip, too.
    assert not ruled["repeat"] and ruled["skip"] and not unruled["skip"]


def test_a_forced_end_is_a_skip_and_a_forced_jump_is_not():
    # The rule forces the last four columns to the end; the model itself only reached 5 of 9.
    path = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    forced = np.array([False] * 6 + [True] * 4)
    report = alignment_report(path_alignment(path, 10), forced=forced)
    assert report["skip"] and not report["stall"]
    # Once the model's own peak is back, it is measured from its own furthest symbol (5):
    # reaching 9 after the forced 6, 7, 8 is a jump of 4.
    forced = np.array([False] * 6 + [True] * 3 + [False])
    assert alignment_report(path_alignment(path, 10), forced=forced)["skip"]
    with pytest.raises(ValueError, match="one flag per output"):
        alignment_report(path_alignment(path, 10), forced=np.zeros(3, bool))


def test_attention_spread_by_hand():
    # One-hot columns read one symbol each; a column split evenly between symbols 1 and 3 has
    # mean 2 and standard deviation 1; a uniform column over 4 symbols, sqrt(1.25).
    assert attention_spread(path_alignment([0, 2, 3], 4)) == 0.0
    split = np.array([[0.0], [0.5], [0.0], [0.5]])
    uniform = np.full((4, 1), 0.25)
    assert attention_spread(split) == pytest.approx(1.0)
    assert attention_spread(np.concatenate([split, uniform], axis=1)) == pytest.approx(
        (1.0 + np.sqrt(1.25)) / 2
    )


def test_focus_rate_by_hand():
    # Largest weights 1, 0.5 and 0.25: their mean.
    columns = np.array([[1.0, 0.5, 0.25], [0.0, 0.5, 0.25], [0.0, 0.0, 0.25], [0.0, 0.0, 0.25]])
    assert focus_rate(columns) == pytest.approx((1.0 + 0.5 + 0.25) / 3)


def test_stall_runs_list_every_hold_before_the_last_symbol():
    # Symbols 0..5; the path holds symbol 1 for three more outputs, falls back to 0 once
    # (no progress), holds 4 for two, reaches the last symbol (5) and then holds it (not a
    # stall: the utterance may end on its last symbol).
    path = [0, 1, 1, 1, 1, 2, 0, 3, 4, 4, 4, 5, 5, 5]
    alignment = path_alignment(path, 6)
    # Worked out by hand: outputs 2-4 stay on 1; output 6 (back to 0) stays at 2; 9-10 on 4.
    assert stall_runs(alignment) == [(2, 3, 1), (6, 1, 2), (9, 2, 4)]
    assert alignment_report(alignment)["longest_stall"] == 3
    # Forced outputs make no progress: a run before any unforced output has symbol -1.
    forced = np.zeros(len(path), bool)
    forced[:2] = True
    assert stall_runs(alignment, forced=forced)[0] == (0, 2, -1)
    # A path that never reaches the last symbol stalls until its last output.
    assert stall_runs(path_alignment([0, 1, 2, 2, 2], 6)) == [(3, 2, 2)]
    # Two outputs per symbol: one output without progress at every symbol but the last.
    assert stall_runs(path_alignment(CLEAN, 6)) == [
        (1, 1, 0),
        (3, 1, 1),
        (5, 1, 2),
        (7, 1, 3),
        (9, 1, 4),
    ]
