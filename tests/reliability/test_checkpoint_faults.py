"""Checkpoints that fail: damaged newest checkpoints fall back to the previous complete one (for
training and synthesis), `ttszoo check` names the damage, a SIGKILL during a write and a failed
write (a full disk) leave the previous checkpoint usable (issue 14, 'Checkpoints that fail')."""

import errno
import glob
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tensorflow as tf
from conftest import TRAINING, tree_digest
from tiny_models import TINY_GIN, train_tiny

from ttszoo.cli import main
from ttszoo.training import complete_steps, load_trained_model
from ttszoo.training.checkpoints import CheckpointWriteError, CorruptCheckpointsError

HERE = Path(__file__).parent
QUIET = ["train.sample_every = 0", "train.validate_every = 0"]


def _truncate_data(run, step):
    for data in glob.glob(f"{run}/checkpoints/ckpt-{step:09d}.data-*"):
        os.truncate(data, os.path.getsize(data) // 2)


def _randomize_index(run, step):
    Path(f"{run}/checkpoints/ckpt-{step:09d}.index").write_bytes(
        bytes(range(256)) * 2
    )  # not an sstable


@pytest.mark.parametrize("damage", [_truncate_data, _randomize_index])
def test_synthesis_loads_the_previous_checkpoint(trained_pair, fresh_copy, damage, caplog):
    run = fresh_copy(trained_pair[0])
    damage(run, 30)
    before = tree_digest(run)
    assert load_trained_model(run).step == 20
    assert "checkpoint of step 30" in caplog.text and "damaged" in caplog.text
    assert tree_digest(run) == before  # synthesis never writes into the directory


@pytest.mark.parametrize("damage", [_truncate_data, _randomize_index])
def test_training_resumes_from_the_previous_checkpoint(trained_pair, fresh_copy, damage, caplog):
    run = fresh_copy(trained_pair[0])
    damage(run, 30)
    caplog.set_level("INFO")
    logs = train_tiny(run, trained_pair[2], params=QUIET, steps=35)
    assert "Resumed" in caplog.text and "from step 20" in caplog.text
    assert logs["step"] == 35 and complete_steps(f"{run}/checkpoints")[-1] == 35
    # the damaged files are set aside, never restored again nor pruned as a good checkpoint
    assert sorted(p.name for p in (run / "checkpoints").glob("corrupt-ckpt-000000030.*"))


def test_every_checkpoint_damaged_is_an_error(trained_pair, fresh_copy):
    run = fresh_copy(trained_pair[0])
    for step in (10, 20, 30):
        _truncate_data(run, step)
    with pytest.raises(CorruptCheckpointsError, match=r"steps \[10, 20, 30\]"):
        load_trained_model(run)


def test_check_reports_each_damaged_checkpoint(trained_pair, fresh_copy, capsys):
    run = fresh_copy(trained_pair[0])
    assert main(["ttszoo", "check", f"--model_dir={run}"]) == 0
    out = capsys.readouterr().out
    assert out.count("ok       checkpoints/ckpt-") == 3 and "PROBLEM" not in out
    _truncate_data(run, 30)
    (run / "features.json").write_text("{not json")
    before = tree_digest(run)
    assert main(["ttszoo", "check", f"--model_dir={run}"]) == 1
    out = capsys.readouterr().out
    assert "PROBLEM  checkpoints/ckpt-000000030: damaged" in out
    assert "PROBLEM  features.json: not valid JSON" in out
    assert "ok       checkpoints/ckpt-000000020" in out and "3 problem(s)" in out
    assert "PROBLEM  operative_config.gin: the model it configures does not load" in out
    assert tree_digest(run) == before


@pytest.mark.parametrize(
    "line, problem",
    [
        ("NoSuchThing.size = 3", "gin cannot parse it"),
        ("TinyAcoustic.hidden = 16", "hyperparameters.hidden: 8 in the model directory, 16 now"),
    ],
)
def test_check_reports_a_broken_operative_config(trained_pair, fresh_copy, capsys, line, problem):
    run = fresh_copy(trained_pair[0])
    config = run / "operative_config.gin"
    config.write_text(config.read_text() + f"\n{line}\n")
    assert main(["ttszoo", "check", f"--model_dir={run}"]) == 1
    out = capsys.readouterr().out
    assert "PROBLEM  operative_config.gin" in out and problem in out


def test_a_failed_write_leaves_the_previous_checkpoint_and_says_why(
    trained_pair, fresh_copy, monkeypatch
):
    run = fresh_copy(trained_pair[0])
    real_write = tf.train.Checkpoint.write

    def full_disk(self, prefix, options=None):
        if "ckpt-000000040" in prefix:  # the first save of the resumed run
            Path(f"{prefix}.data-00000-of-00001").write_bytes(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, prefix, options=options)

    monkeypatch.setattr(tf.train.Checkpoint, "write", full_disk)
    with pytest.raises(CheckpointWriteError) as error:
        train_tiny(run, trained_pair[2], params=QUIET, steps=40)
    message = str(error.value)
    assert "step 40" in message and "No space left on device" in message
    assert "previous checkpoint (step 30) is intact" in message
    assert complete_steps(f"{run}/checkpoints") == [10, 20, 30]
    assert not list((run / "checkpoints").glob("ckpt-000000040*"))  # partial files removed
    monkeypatch.undo()
    assert load_trained_model(run).step == 30


def _wait_for(log, text, process, timeout=120):
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.02)


def test_sigkill_during_a_checkpoint_write_then_resume(trained_pair, fresh_copy, tmp_path):
    """Also: a second run during the first is refused, and the killed run leaves no lock."""
    run = fresh_copy(trained_pair[0])
    flags = [
        f"--model_dir={run}", f"--gin_file={TINY_GIN}", "--gin_param=train.sample_every=0",
        "--gin_param=train.validate_every=0", "--gin_param=train.jit_compile=False",
    ]  # fmt: skip
    environment = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(TRAINING), os.environ.get("PYTHONPATH", "")]),
    )
    log = tmp_path / "killed.log"
    process = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "stalled_checkpoint_train.py"),
            "40",
            "train",
            "--steps=50",
            *flags,
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(log, "w"),
        env=environment,
    )
    _wait_for(log, "STALLED IN WRITE", process)
    # A second `ttszoo train` on the directory while the first one runs is refused untouched.
    before = tree_digest(run)
    second = subprocess.run(
        [sys.executable, "-m", "ttszoo.cli", "train", "--steps=50", *flags],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert second.returncode == 1 and f"Another process is training into {run}" in second.stderr
    assert tree_digest(run) == before
    process.send_signal(signal.SIGKILL)
    process.wait()
    checkpoints = f"{run}/checkpoints"
    assert complete_steps(checkpoints) == [10, 20, 30]  # the half-written step 40 is invisible
    assert glob.glob(f"{checkpoints}/ckpt-000000040.*")  # its files are on disk, unmarked
    assert load_trained_model(run).step == 30
    resumed = subprocess.run(
        [sys.executable, "-m", "ttszoo.cli", "train", "--steps=50", *flags],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert re.search(r"Removing ckpt-000000040\.\S+ left by an interrupted", resumed.stderr)
    assert "from step 30" in resumed.stderr
    assert complete_steps(checkpoints) == [30, 40, 50]
    for step in (30, 40, 50):
        reader = tf.train.load_checkpoint(f"{checkpoints}/ckpt-{step:09d}")
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
