"""Summaries by text length and the report files, on hand-made sentence rows."""

import json
import math

import pytest

from ttszoo.evaluation.report import summarize, write_report


def row(index, length, steps, forced, mcd, retrieved, stop="stop rule", d_rel=0.5, **flags):
    values = {
        "index": index, "text": f"sentence {index} | with a bar", "characters": 10,
        "length": length, "stop_reason": stop, "decoder_steps": steps, "forced_steps": forced,
        "forced_fraction": forced / steps, "last_step_forced": forced > 0, "skip": False,
        "repeat": False, "stall": False, "alignment_failures": "", "duration_ratio": 1.0,
        "mcd": mcd, "mcd_floor": 1.0, "mcd_ceiling": 9.0, "mcd_d_rel": d_rel,
        "mcd_retrieved": retrieved, "logmel_l1": 0.5, "logmel_l1_d_rel": d_rel,
        "logmel_l1_retrieved": retrieved,
    }  # fmt: skip
    values.update(flags)
    return values


ROWS = [
    row(1, "< 40", 10, 1, 4.0, True),
    row(2, "< 40", 20, 6, 6.0, False, stop="step guard", stall=True, alignment_failures="stall"),
    row(3, "> 80", 30, 0, 8.0, True, d_rel=math.nan),
]


def test_summaries_pool_forced_steps_and_group_by_length():
    summary = summarize(ROWS)
    assert list(summary) == ["all", "< 40", "> 80"]  # no sentence of 40-80 characters
    short = summary["< 40"]
    assert short["forced_fraction"] == pytest.approx(7 / 30)  # not the mean of 0.1 and 0.3
    assert short["sentences"] == 2 and short["step_guard_stops"] == 1 and short["stalls"] == 1
    assert short["last_step_forced"] == 2 and short["alignment_failures"] == 1
    assert short["mcd"] == 5.0 and short["mcd_retrieval"] == 0.5
    assert summary["all"]["forced_fraction"] == pytest.approx(7 / 60)
    assert summary["all"]["mcd_retrieval"] == pytest.approx(2 / 3)
    assert summary["all"]["mcd_d_rel"] == 0.5  # the NaN (no ceiling above the floor) is left out
    assert math.isnan(summary["> 80"]["mcd_d_rel"])


def test_report_files(tmp_path):
    summary = write_report(tmp_path, {"acoustic": "runs/t2m"}, ROWS)
    document = json.loads((tmp_path / "report.json").read_text())
    assert document["summary"]["> 80"]["mcd_d_rel"] is None  # JSON has no NaN
    assert document["sentences"][2]["mcd_d_rel"] is None
    assert summary["all"]["sentences"] == 3
    markdown = (tmp_path / "report.md").read_text()
    assert "- acoustic: runs/t2m" in markdown
    assert "| < 40 | 2 | 1 | 23.3% | 2 |" in markdown
    assert "sentence 2 \\| with a bar" in markdown  # a bar in the text does not split the row
