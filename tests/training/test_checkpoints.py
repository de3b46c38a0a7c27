"""Atomic checkpoints: commit markers, pruning, interrupted writes, restore."""

import tempfile
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from ttszoo.training.checkpoints import (
    CheckpointStore,
    UntrackedWeightsError,
    check_weights_are_tracked,
    checkpoint_prefix,
    complete_steps,
)


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


class _ListInBuild(keras.Model):
    """Sublayers kept only in a list: invisible to tf.train.Checkpoint."""

    def __init__(self, as_attributes=False):
        super().__init__()
        self.as_attributes = as_attributes
        self.head = keras.layers.Dense(2)

    def build(self, shape):
        self.hidden = [keras.layers.Dense(3) for _ in range(2)]
        if self.as_attributes:
            self.hidden_0, self.hidden_1 = self.hidden

    def call(self, x):
        for layer in self.hidden:
            x = layer(x)
        return self.head(x)


def test_weights_a_checkpoint_cannot_reach_are_refused_by_name():
    hidden_only_in_a_list = _ListInBuild()
    hidden_only_in_a_list(tf.zeros([1, 4]))
    with pytest.raises(UntrackedWeightsError, match=r"4 weights .*dense_\d+/kernel.*self.block_3"):
        check_weights_are_tracked(hidden_only_in_a_list)
    tracked = _ListInBuild(as_attributes=True)
    tracked(tf.zeros([1, 4]))
    check_weights_are_tracked(tracked)
    # What the check protects: a round trip restores every weight of the tracked model.
    path = tf.train.Checkpoint(model=tracked).write(str(Path(tempfile.mkdtemp()) / "ckpt"))
    clone = _ListInBuild(as_attributes=True)
    clone(tf.zeros([1, 4]))
    tf.train.Checkpoint(model=clone).read(path).assert_existing_objects_matched()
    for restored, original in zip(clone.weights, tracked.weights, strict=True):
        np.testing.assert_array_equal(restored.numpy(), original.numpy())
