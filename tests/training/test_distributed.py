"""MirroredStrategy over two logical CPU devices: the distributed path of the trainer runs, and
the update equals the single-device one on the same global batch (losses scaled by it)."""

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def test_mirrored_strategy_matches_one_device(tmp_path):
    environment = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    )
    result = subprocess.run(
        [sys.executable, str(HERE / "distributed_check.py"), str(tmp_path)],
        capture_output=True, text=True, env=environment, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["jit_compile"] is False  # XLA cannot span logical devices of one CPU
    assert report["checkpoints"] == [2, 3]
    assert report["weight_change"] > 1e-2
    assert report["weight_difference"] < 1e-5
    for key in ("loss", "val_loss"):
        assert abs(report["mirrored_logs"][key] - report["single_logs"][key]) < 1e-5, key
