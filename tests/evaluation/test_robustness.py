"""The robustness table's numbers against hand-computed values: failure classes, shares,
mean and spread over seeds, steps until diagonal, and the markdown cells."""

import json
import math

import pytest

from ttszoo.evaluation.robustness import (
    aggregate,
    failure_classes,
    markdown_table,
    run_scores,
    spread,
    steps_until_diagonal,
    text_reliance,
)


def _row(chars, skip=False, repeat=False, stall=False, guard=False, found=True, d_rel=0.0,
         duration=1.0):  # fmt: skip
    return {
        "text": "x" * chars,
        "skip": skip,
        "repeat": repeat,
        "stall": stall,
        "stop_reason": "step guard" if guard else "stop rule",
        "mcd_retrieved": found,
        "mcd_d_rel": d_rel,
        "duration_ratio": duration,
    }


# Seed A: a clean short sentence, a long skip, a long repeat + stall + guard stop (d_rel
# undefined: NaN in memory), a medium guard stop. Seed B: every sentence fine.
SEED_A = [
    _row(9, d_rel=0.2, duration=1.0),
    _row(120, skip=True, found=False, d_rel=0.8, duration=0.5),
    _row(150, repeat=True, stall=True, guard=True, found=False, d_rel=math.nan, duration=2.0),
    _row(50, guard=True, d_rel=0.4, duration=1.1),
]
SEED_B = [
    _row(9, d_rel=0.1),
    _row(120, d_rel=0.3),
    _row(150, d_rel=None),  # undefined d_rel as it comes back from report.json
    _row(50, d_rel=0.5),
]


def test_failure_classes_count_a_guard_stop_as_no_stop():
    assert failure_classes(SEED_A[0]) == dict.fromkeys(
        ("skip", "repeat", "stall", "no_stop", "failed"), False
    )
    assert failure_classes(SEED_A[2]) == {
        "skip": False,
        "repeat": True,
        "stall": True,
        "no_stop": True,
        "failed": True,
    }
    assert failure_classes(SEED_A[3])["failed"] and failure_classes(SEED_A[3])["no_stop"]


def test_run_scores_by_hand():
    scores = run_scores(SEED_A)
    expected = {
        "skip": 0.25,
        "repeat": 0.25,
        "stall": 0.25,
        "no_stop": 0.5,
        "failed": 0.75,
        "failed_long": 1.0,  # both sentences over 100 characters failed
        "retrieval": 0.5,
        "d_rel_mcd": (0.2 + 0.8 + 0.4) / 3,  # the undefined one left out
        "duration_ratio": (1.0 + 0.5 + 2.0 + 1.1) / 4,
        "sentences": 4,
    }
    assert scores.keys() == expected.keys()
    for key, value in expected.items():
        assert scores[key] == pytest.approx(value), key
    assert run_scores(SEED_B)["failed"] == 0.0 and run_scores(SEED_B)["d_rel_mcd"] == 0.3
    assert run_scores([_row(20)])["failed_long"] is None
    with pytest.raises(ValueError, match="at least one sentence"):
        run_scores([])


def test_mean_and_spread_over_seeds_by_hand():
    summary = aggregate([run_scores(SEED_A), run_scores(SEED_B)])
    assert summary["seeds"] == 2 and "sentences" not in summary
    # Sample standard deviation of two values: |a - b| / sqrt(2).
    assert summary["failed"]["mean"] == pytest.approx(0.375)
    assert summary["failed"]["std"] == pytest.approx(0.75 / math.sqrt(2))
    assert (summary["failed"]["min"], summary["failed"]["max"]) == (0.0, 0.75)
    d_rel_a = 1.4 / 3
    assert summary["d_rel_mcd"]["mean"] == pytest.approx((d_rel_a + 0.3) / 2)
    assert summary["d_rel_mcd"]["std"] == pytest.approx((d_rel_a - 0.3) / math.sqrt(2))
    assert spread([1.0, None, 3.0]) == {
        "mean": 2.0,
        "std": pytest.approx(math.sqrt(2)),
        "min": 1.0,
        "max": 3.0,
        "n": 2,
    }
    assert spread([0.5])["std"] is None and spread([None])["mean"] is None


def test_steps_until_diagonal_is_the_first_validation_step_over_the_threshold():
    history = [
        {"step": 100, "diagonality": 0.5},
        {"step": 200, "diagonality": 0.92},
        {"step": 300, "diagonality": 0.85},
        {"step": 400, "diagonality": 0.95},
    ]
    assert steps_until_diagonal(history) == 200  # the default threshold is 0.9
    assert steps_until_diagonal(history, threshold=0.95) == 400
    assert steps_until_diagonal(history, threshold=0.99) is None


def test_text_reliance_reads_the_last_validation():
    history = [
        {"step": 100, "tf_l1_text": 0.2, "tf_l1_reversed_text": 0.2},
        {"step": 200, "tf_l1_text": 0.1, "tf_l1_reversed_text": 0.125},
    ]
    assert text_reliance(history) == pytest.approx(0.25)
    assert text_reliance(history[:1]) == pytest.approx(0.0)
    assert text_reliance([{"step": 100, "diagonality": 0.5}]) is None  # an older history
    assert text_reliance([]) is None


def test_markdown_cells_show_mean_and_spread_and_partial_columns():
    one = aggregate([{**run_scores(SEED_A), "diagonal_at": 300}])
    two = aggregate(
        [{**run_scores(SEED_A), "diagonal_at": 400}, {**run_scores(SEED_B), "diagonal_at": None}]
    )
    table = markdown_table(
        [("mha", one), ("sma soft", two)], extra_columns=(("diagonal_at", "diagonal at", "{:.0f}"),)
    ).splitlines()
    assert table[0].startswith("| variant | seeds | failed | failed > 100 chars | skip |")
    assert table[0].endswith("| diagonal at |")
    cells = [cell.strip() for cell in table[2].strip("|").split("|")]
    assert cells[:4] == ["mha", "1", "75%", "100%"] and cells[-1] == "300"
    cells = [cell.strip() for cell in table[3].strip("|").split("|")]
    assert cells[:3] == ["sma soft", "2", "38% ± 53%"]
    assert cells[-1] == "400 (1 of 2)"


class _Counter:
    """Stands in for a model: the optimizer step counter and the stop flag the budget sets."""

    def __init__(self, step):
        self.optimizer = type("Optimizer", (), {"iterations": step})()
        self.stop_training = False


def test_cpu_budget_stops_training_and_carries_over_earlier_cpu_time(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from transformer_tts_robustness import CpuBudget

    status = tmp_path / "training.json"
    roomy = CpuBudget(3600.0, status, {"steps": 10}, earlier=120.0)
    roomy.set_model(_Counter(7))
    assert roomy.cpu_seconds() >= 120.0
    roomy.on_train_batch_end(0)
    assert not roomy.model.stop_training
    roomy.on_test_end()
    recorded = json.loads(status.read_text())
    assert recorded["step"] == 7 and recorded["budget"] == {"steps": 10}
    assert recorded["cpu_seconds"] >= 120.0 and recorded["done"] is False
    # 120 s used before this process started: a 60 s budget is already spent.
    spent = CpuBudget(60.0, status, {"steps": 10}, earlier=120.0)
    spent.set_model(_Counter(7))
    spent.on_train_batch_end(0)
    assert spent.model.stop_training
    unlimited = CpuBudget(None, status, {"steps": 10}, earlier=1e9)
    unlimited.set_model(_Counter(7))
    unlimited.on_train_batch_end(0)
    assert not unlimited.model.stop_training
