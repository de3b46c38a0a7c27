"""SIGKILL a `ttszoo train` subprocess at several points, resume, and check the model directory:
no corrupt checkpoint, at most one checkpoint interval lost, the step counter continues."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import tensorflow as tf
from tiny_models import TINY_GIN, write_features

from ttszoo.training import complete_steps

HERE = Path(__file__).parent
INTERVAL = 20
SAVED = re.compile(r"Saved checkpoint at step (\d+)")
RESUMED = re.compile(r"Resumed \S+ from step (\d+)")


def _start(model_dir, records_dir, steps, log_path):
    command = [
        sys.executable, "-m", "ttszoo.cli", "train", f"--model_dir={model_dir}", f"--records_dir={records_dir}",
        f"--gin_file={TINY_GIN}", f"--steps={steps}", f"--gin_param=train.checkpoint_every={INTERVAL}",
        "--gin_param=train.validate_every=0", "--gin_param=train.sample_every=0", "--gin_param=train.jit_compile=False",
    ]  # fmt: skip
    environment = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        PYTHONUNBUFFERED="1",
    )
    return subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=open(log_path, "w"), env=environment
    )


def _wait_for(log_path, pattern, count, process, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = pattern.findall(Path(log_path).read_text())
        if len(found) >= count:
            return [int(step) for step in found]
        assert process.poll() is None, Path(log_path).read_text()[-3000:]
        time.sleep(0.01)
    raise AssertionError(
        f"timed out waiting for {pattern.pattern}: {Path(log_path).read_text()[-3000:]}"
    )


def _assert_all_checkpoints_readable(checkpoints):
    for step in complete_steps(checkpoints):
        reader = tf.train.load_checkpoint(f"{checkpoints}/ckpt-{step:09d}")
        names = reader.get_variable_to_shape_map()
        assert any("optimizer" in name for name in names) and any("model" in name for name in names)
        iterations = [name for name in names if re.search(r"optimizer/.*iteration", name)]
        assert iterations and int(reader.get_tensor(iterations[0])) == step


def test_sigkill_at_several_points_then_resume(tmp_path):
    model_dir, records = tmp_path / "run", tmp_path / "records"
    checkpoints = str(model_dir / "checkpoints")
    write_features(records)
    # Kill after the first save of a run, plus a delay that lands at different points of the
    # following interval (training steps, the next checkpoint write, the prune).
    expected_resume = 0
    for round_index, delay in enumerate((0.0, 0.05, 0.3)):
        log = tmp_path / f"round{round_index}.log"
        process = _start(model_dir, records, 1_000_000, log)
        if round_index:
            assert _wait_for(log, RESUMED, 1, process)[0] == expected_resume
        saved = _wait_for(log, SAVED, 1, process)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        saved = [int(step) for step in SAVED.findall(log.read_text())]
        steps = complete_steps(checkpoints)
        assert steps and steps[-1] >= max(saved), (steps, saved)  # no logged checkpoint lost
        assert all(step % INTERVAL == 0 for step in steps)
        _assert_all_checkpoints_readable(checkpoints)
        assert steps[-1] > expected_resume  # the step counter moved on
        expected_resume = steps[-1]
    # A final run resumes from the last complete checkpoint and finishes.
    log = tmp_path / "final.log"
    final_step = expected_resume + INTERVAL
    process = _start(model_dir, records, final_step, log)
    assert process.wait(timeout=120) == 0, log.read_text()[-3000:]
    assert [int(s) for s in RESUMED.findall(log.read_text())] == [expected_resume]
    assert complete_steps(checkpoints)[-1] == final_step
    _assert_all_checkpoints_readable(checkpoints)
    assert not [p for p in Path(checkpoints).iterdir() if ".tmp" in p.name]
