"""benchmarks/accelerator_check.py runs end to end on the CPU with --smoke (one model)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_smoke_run_measures_training_and_synthesis(tmp_path):
    out = tmp_path / "report.json"
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "accelerator_check.py"), "--smoke",
         "--models", "wavegrad", "--num_workers", "1", "--json", str(out)],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["smoke"] and report["device"].startswith("CPU")
    (row,) = report["results"]
    assert row["model"] == "wavegrad" and row["precision"] == "mixed_bfloat16" and row["batch"] == 2
    assert row["steps_per_s"] > 0 and row["examples_per_s"] == pytest.approx(2 * row["steps_per_s"])
    # The demo WaveGrad runs at 22.05 kHz with hop 300: 0.05 s of mel rounds to 4 frames,
    # which become 1200 samples.
    assert row["output_audio_s"] == pytest.approx(1200 / 22050)
    assert row["rtf"] == pytest.approx(row["synthesis_s"] / row["output_audio_s"])
    assert report["wavegrad_peer"].startswith("skipped: no --peer_python")
    assert "| wavegrad | mixed_bfloat16 | 2 |" in result.stdout
