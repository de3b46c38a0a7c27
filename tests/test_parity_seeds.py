"""benchmarks/parity_seeds.py: pooling parity runs over seeds, against hand-computed values."""

import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from parity_seeds import compare, held_out_losses, load_runs, markdown_table  # noqa: E402

# Per seed, held-out L1 at steps 0, 100, 200, 300 (the peer's, then ttszoo's factor over it).
PEER = [[1.0, 1.0, 2.0, 1.0], [1.0, 1.0, 2.0, 1.0], [1.0, 1.0, 2.0, 1.0]]
FACTOR = [
    [1.0, math.exp(0.1), 1.2, 1.20],
    [1.0, 1.0, 1.3, 1.21],
    [1.0, math.exp(-0.1), 1.1, 1.19],
]


def _write_runs(tmp_path, seeds=(0, 1, 2), learning_rates=(2e-4, 2e-4, 2e-4)):
    paths = []
    for s, (seed, rate) in enumerate(zip(seeds, learning_rates, strict=True)):
        evaluations = [
            {
                "step": 100 * e,
                "heldout_l1": {"ttszoo": PEER[s][e] * FACTOR[s][e], "peer": PEER[s][e]},
            }
            for e in range(4)
        ]
        run = {
            "peer": "wavegrad 0.1.5 on torch",
            "settings": {"seed": seed, "learning_rate": rate, "twin": 0, "steps": 300},
            "evaluations": evaluations,
            # Band 2 holds the evaluations' values doubled, band 1 ones on both sides.
            "heldout_bands": [
                {"step": row["step"], "band": band, **values}
                for row in evaluations
                for band, values in (
                    (1, {"ttszoo": 1.0, "peer": 1.0}),
                    (2, {k: 2 * v for k, v in row["heldout_l1"].items()}),
                )
            ],
        }
        paths.append(tmp_path / f"run{s}.json")
        paths[-1].write_text(json.dumps(run))
    return [str(p) for p in paths]


def test_per_evaluation_intervals_and_verdicts_match_hand_computed_values(tmp_path):
    runs, measure = load_runs(_write_runs(tmp_path))
    assert measure == "heldout_l1"
    rows = compare(*held_out_losses(runs, measure))
    assert [row["step"] for row in rows] == [100, 200, 300, "whole run"]
    t = 4.302653  # Student-t, 2 degrees of freedom, 97.5 %
    # Step 100: log ratios 0.1, 0, -0.1: mean 0, sd 0.1.
    half = t * 0.1 / math.sqrt(3)
    assert rows[0]["paired_ratio"] == pytest.approx([1.0, math.exp(-half), math.exp(half)])
    assert rows[0]["ratio_of_means"] == pytest.approx((math.exp(0.1) + 1 + math.exp(-0.1)) / 3)
    assert rows[0]["verdict"] == "within 5 %"
    # Step 200: ratios 1.2, 1.3, 1.1: log mean 0.179999, sd 0.083551; ratio of means 1.2.
    logs = [math.log(1.2), math.log(1.3), math.log(1.1)]
    mean = sum(logs) / 3
    sd = math.sqrt(sum((v - mean) ** 2 for v in logs) / 2)
    assert mean == pytest.approx(0.179999, abs=1e-6) and sd == pytest.approx(0.083551, abs=1e-6)
    low, high = math.exp(mean - t * sd / math.sqrt(3)), math.exp(mean + t * sd / math.sqrt(3))
    assert rows[1]["paired_ratio"] == pytest.approx([math.exp(mean), low, high])
    assert low < 1.0 < high
    assert rows[1]["ratio_of_means"] == pytest.approx(1.2)
    assert rows[1]["verdict"] == "within noise"
    assert rows[1]["ttszoo"] == pytest.approx([2.4, 0.2])  # 2.4, 2.6, 2.2
    # Step 300: ratios 1.19 to 1.21, a tight interval above 1.
    assert rows[2]["verdict"] == "above"
    assert rows[2]["paired_ratio"][1] > 1.0


def test_whole_run_row_pools_each_seeds_mean_log_ratio(tmp_path):
    runs, measure = load_runs(_write_runs(tmp_path))
    whole = compare(*held_out_losses(runs, measure))[-1]
    per_seed = [
        sum(math.log(f) for f in FACTOR[s][1:]) / 3 for s in range(3)
    ]  # steps 100-300 of each seed
    mean = sum(per_seed) / 3
    sd = math.sqrt(sum((v - mean) ** 2 for v in per_seed) / 2)
    half = 4.302653 * sd / math.sqrt(3)
    assert whole["paired_ratio"] == pytest.approx(
        [math.exp(mean), math.exp(mean - half), math.exp(mean + half)]
    )
    ours = sum(PEER[s][e] * FACTOR[s][e] for s in range(3) for e in range(1, 4))
    theirs = sum(PEER[s][e] for s in range(3) for e in range(1, 4))
    assert whole["ratio_of_means"] == pytest.approx(ours / theirs)
    assert "| whole run |" in markdown_table([whole], 3)


def test_all_below_is_reported_as_below(tmp_path):
    paths = _write_runs(tmp_path)
    for p in paths:
        run = json.loads(Path(p).read_text())
        for row in run["evaluations"]:
            row["heldout_l1"]["ttszoo"] = 0.5 * row["heldout_l1"]["peer"] * (1 + row["step"] * 1e-4)
        Path(p).write_text(json.dumps(run))
    runs, measure = load_runs(paths)
    assert {row["verdict"] for row in compare(*held_out_losses(runs, measure))} == {"below"}


def test_runs_must_share_settings_and_have_their_own_seeds(tmp_path):
    with pytest.raises(ValueError, match="learning_rate"):
        load_runs(_write_runs(tmp_path, learning_rates=(2e-4, 2e-4, 1e-3)))
    with pytest.raises(ValueError, match="own --seed"):
        load_runs(_write_runs(tmp_path, seeds=(0, 1, 1)))
    with pytest.raises(ValueError, match="at least two"):
        load_runs(_write_runs(tmp_path)[:1])


def test_a_band_of_noise_levels_pools_that_band(tmp_path):
    runs, measure = load_runs(_write_runs(tmp_path))
    steps, whole = held_out_losses(runs, measure)
    band_steps, band = held_out_losses(runs, measure, band=2)
    assert band_steps == steps
    for side in ("ttszoo", "peer"):
        assert band[side].ravel().tolist() == pytest.approx((2 * whole[side]).ravel().tolist())
    ones = held_out_losses(runs, measure, band=1)[1]
    assert compare(steps, ones)[-1]["paired_ratio"] == pytest.approx([1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="band 3"):
        held_out_losses(runs, measure, band=3)
    for run in runs:
        del run["heldout_bands"]
    with pytest.raises(ValueError, match="heldout_bands"):
        held_out_losses(runs, measure, band=1)
