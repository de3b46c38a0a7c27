"""Atomic checkpoints: commit markers, pruning, interrupted writes, restore."""

import tensorflow as tf

from ttszoo.training.checkpoints import CheckpointStore, checkpoint_prefix, complete_steps


def _store(directory, keep=2):
    variable = tf.Variable(0.0)
    return CheckpointStore(str(directory), tf.train.Checkpoint(value=variable), keep=keep), variable


def test_keeps_the_newest_complete_checkpoints(tmp_path):
    store, variable = _store(tmp_path, keep=2)
    for step in (10, 20, 30):
        variable.assign(float(step))
        store.save(step)
    assert complete_steps(str(tmp_path)) == [20, 30]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("ckpt-000000010")) == []
    variable.assign(-1.0)
    assert store.restore_latest() == 30 and variable.numpy() == 30.0


def test_interrupted_write_is_invisible_and_cleaned(tmp_path):
    store, variable = _store(tmp_path, keep=3)
    variable.assign(1.0)
    store.save(10)
    # A write killed before its commit marker: data files and a half-written marker, no marker.
    variable.assign(2.0)
    store.checkpoint.write(checkpoint_prefix(str(tmp_path), 20))
    (tmp_path / "ckpt-000000020.complete.tmp123").write_text("{")
    assert complete_steps(str(tmp_path)) == [10]
    variable.assign(-1.0)
    assert store.restore_latest() == 10 and variable.numpy() == 1.0
    assert not any(p.name.startswith("ckpt-000000020") for p in tmp_path.iterdir())


def test_empty_directory_restores_nothing(tmp_path):
    store, _ = _store(tmp_path / "none")
    assert store.restore_latest() is None
