"""`ttszoo evaluate` end to end on a tiny DCTTS Text2Mel trained for two steps on the demo slice."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

sys.path.insert(0, str(Path(__file__).parents[1] / "models"))
from test_dctts_train import TEXT2MEL, train_dir  # noqa: E402  (the tiny DCTTS settings)

from ttszoo.cli import main  # noqa: E402

SENTENCES = ["A cat sat.", "Where is the green house?", "Seven boats went by."]


@pytest.fixture(scope="module")
def tiny_text2mel(demo_records_dir, tmp_path_factory):
    """A Text2Mel with e = d = 8 after two training steps, at most 12 decoder steps."""
    model_dir = tmp_path_factory.mktemp("evaluate") / "t2m"
    train_dir(model_dir, demo_records_dir, "models/dctts_text2mel.gin", TEXT2MEL)
    return model_dir


def test_evaluate_writes_a_report_from_espeak_references(tiny_text2mel, tmp_path, capsys, caplog):
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("\n".join(SENTENCES) + "\n\n")
    out = tmp_path / "report"
    args = ["ttszoo", "evaluate", f"--acoustic={tiny_text2mel}", f"--sentences={sentences}"]
    assert main([*args, f"--out={out}", "--espeak_voice=en-us", "--griffin_lim_iters=2"]) == 0
    printed = capsys.readouterr().out
    assert "3 sentences" in printed and "report.md" in printed
    report = json.loads((out / "report.json").read_text())
    rows = report["sentences"]
    assert [row["text"] for row in rows] == SENTENCES
    assert [row["length"] for row in rows] == ["< 40"] * 3
    for row in rows:
        assert row["stop_reason"] in ("stop rule", "step guard")
        assert 0 <= row["forced_steps"] <= row["decoder_steps"] <= 12
        assert row["forced_fraction"] == row["forced_steps"] / row["decoder_steps"]
        assert row["mcd"] > 0 and row["mcd_ceiling"] > 0 and np.isfinite(row["mcd_floor"])
        assert row["duration_ratio"] > 0
    assert report["summary"]["all"]["sentences"] == 3
    guard = sum(row["stop_reason"] == "step guard" for row in rows)
    assert report["summary"]["all"]["step_guard_stops"] == guard
    assert ("reached its step guard" in caplog.text) == (guard > 0)
    for name in ("0001", "0002", "0003"):
        assert (out / "pictures" / f"{name}.png").is_file()
        audio, rate = soundfile.read(out / "references" / f"{name}.wav")
        assert rate == 22050 and len(audio) > 0
        assert (out / "synthesized" / f"{name}.wav").is_file()
    markdown = (out / "report.md").read_text()
    assert "## By text length" in markdown and SENTENCES[1] in markdown

    # The same references, given as a folder, give the same distances.
    again = tmp_path / "again"
    code = main([*args, f"--out={again}", f"--references={out / 'references'}", "--noplots",
                 "--griffin_lim_iters=2"])  # fmt: skip
    assert code == 0
    repeated = json.loads((again / "report.json").read_text())["sentences"]
    assert [row["mcd_ceiling"] for row in repeated] == pytest.approx(
        [row["mcd_ceiling"] for row in rows]
    )
    assert not (again / "pictures").exists()


def test_evaluate_names_missing_references(tiny_text2mel, tmp_path, capsys):
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("One.\nTwo.\n")
    (tmp_path / "refs").mkdir()
    code = main(
        ["ttszoo", "evaluate", f"--acoustic={tiny_text2mel}", f"--sentences={sentences}",
         f"--references={tmp_path / 'refs'}", f"--out={tmp_path / 'out'}"]
    )  # fmt: skip
    assert code == 1
    assert "0001.wav, 0002.wav" in capsys.readouterr().err


def test_evaluate_forcing_both_puts_the_model_with_and_without_forcing_side_by_side(
    tiny_text2mel, tmp_path, capsys
):
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("\n".join(SENTENCES) + "\n")
    out = tmp_path / "both"
    args = ["ttszoo", "evaluate", f"--acoustic={tiny_text2mel}", f"--sentences={sentences}"]
    code = main([*args, f"--out={out}", "--forcing=both", "--noplots", "--griffin_lim_iters=2"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Forcing on: 3 sentences" in printed and "Forcing off: 3 sentences" in printed
    reports = {
        setting: json.loads((out / f"forcing_{setting}" / "report.json").read_text())
        for setting in ("on", "off")
    }
    # With forcing off no step is forced, whatever the tiny model's attention does.
    assert [row["forced_steps"] for row in reports["off"]["sentences"]] == [0, 0, 0]
    # Both evaluations score against the same references, rendered once.
    assert sorted(p.name for p in (out / "references").iterdir()) == [
        "0001.wav",
        "0002.wav",
        "0003.wav",
    ]
    comparison = json.loads((out / "comparison.json").read_text())
    for setting in ("on", "off"):
        assert comparison["summaries"][setting] == reports[setting]["summary"]
    table = (out / "comparison.md").read_text()
    assert "| all, forcing on |" in table and "| all, forcing off |" in table

    # --forcing=on gives what the model does by default.
    again = tmp_path / "on"
    code = main([*args, f"--out={again}", f"--references={out / 'references'}", "--noplots",
                 "--griffin_lim_iters=2", "--forcing=on"])  # fmt: skip
    assert code == 0
    rows = json.loads((again / "report.json").read_text())["sentences"]
    expected = reports["on"]["sentences"]
    assert [row["forced_steps"] for row in rows] == [row["forced_steps"] for row in expected]
    assert [row["decoder_steps"] for row in rows] == [row["decoder_steps"] for row in expected]
