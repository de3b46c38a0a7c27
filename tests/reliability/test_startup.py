"""Start-up and output of the `ttszoo` command (issue 14, 'Start-up and output')."""

import os
import subprocess
import sys
import time

from conftest import TRAINING

from ttszoo.cli import main
from ttszoo.model_catalog import built_in_models

_RUN_WITHOUT_TENSORFLOW = """
import sys
from ttszoo.cli import main
for argv in (["ttszoo", "models"], ["ttszoo", "models", "--family=vocoder"]):
    assert main(argv) == 0
try:
    main(["ttszoo", "--help"])
except SystemExit as done:
    assert done.code == 0
print("imported:", sorted(m for m in ("tensorflow", "keras", "gin") if m in sys.modules))
"""


def _environment(**extra):
    environment = dict(os.environ, **extra)
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)  # what a user's shell has
    environment["PYTHONPATH"] = os.pathsep.join([str(TRAINING), os.environ.get("PYTHONPATH", "")])
    return environment


def test_help_and_models_do_not_import_tensorflow():
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _RUN_WITHOUT_TENSORFLOW],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=60,
    )
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("imported: []"), result.stdout[-500:]
    assert all(entry.name in result.stdout for entry in built_in_models())
    assert result.stderr == ""
    print(f"help + models twice in one interpreter: {seconds:.2f} s")


def test_tensorflow_start_up_lines_are_silenced_unless_verbose(trained_pair):
    command = [sys.executable, "-m", "ttszoo.cli", "check", f"--model_dir={trained_pair[0]}"]
    quiet = subprocess.run(command, capture_output=True, text=True, env=_environment())
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == "", quiet.stderr[-2000:]  # no oneDNN, CUDA or absl start-up lines
    assert "every file checked is usable" in quiet.stdout


def test_export_prints_no_tensor_specs(trained_pair, tmp_path, capfd):
    out = tmp_path / "served"
    assert main(["ttszoo", "export", f"--acoustic={trained_pair[0]}", f"--out={out}"]) == 0
    captured = capfd.readouterr()
    assert "TensorSpec" not in captured.out + captured.err
    assert captured.out.strip().splitlines() == [f"Exported a SavedModel to {out}"]
