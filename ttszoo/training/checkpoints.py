"""Atomic checkpoints, pruned to the last N, that survive a SIGKILL at any instant.

A checkpoint of step S is the files ``ckpt-<S>.index`` and ``ckpt-<S>.data-*`` written by
``tf.train.Checkpoint.write`` plus a commit marker ``ckpt-<S>.complete``. The marker is written
last, to a temporary name and then renamed, so it exists only when every data file is complete.
Readers see only marked checkpoints; files of a checkpoint whose write was interrupted carry no
marker and are deleted on the next start. Pruning removes the marker first, then the files, so
an interrupted prune also leaves only complete checkpoints visible.

The paths go through ``tf.io.gfile`` and so work on local disks and on ``gs://`` buckets.
"""

import json
import re
import time

import tensorflow as tf
from absl import logging

from ttszoo.errors import TTSZooError

_NAME = re.compile(r"^ckpt-(\d+)(\.complete|\.index|\.data-.*|\.complete\.tmp.*)$")
_MARKER = ".complete"


class UntrackedWeightsError(TTSZooError, ValueError):
    """A model holds weights that ``tf.train.Checkpoint`` cannot reach from the model."""


def check_weights_are_tracked(model):
    """Raises ``UntrackedWeightsError`` naming every weight a checkpoint would silently skip.

    ``tf.train.Checkpoint`` saves what it reaches through the model's object graph. Keras 3 does
    not make layers kept only in a plain list or tuple part of that graph (whether the list is
    made in ``__init__`` or in ``build()``), so their weights would be neither saved nor restored -- and a restore would still report
    success, leaving them at their random initial values. Trainer and loader call this once the
    model is built.
    """
    reachable = {id(node) for node in tf.train.TrackableView(model).descendants()}
    missing = [weight.path for weight in model.weights if id(weight) not in reachable]
    if missing:
        raise UntrackedWeightsError(
            f"{type(model).__name__} has {len(missing)} weights that checkpoints cannot reach, so "
            f"they would be neither saved nor restored: {missing[:8]}"
            f"{' ...' if len(missing) > 8 else ''}. Keep every sublayer as an attribute of its "
            "parent (self.block_3 = ...), not only in a list or tuple."
        )


def checkpoint_prefix(directory, step):
    """Returns the path prefix of the checkpoint of ``step`` in ``directory``."""
    return f"{directory}/ckpt-{int(step):09d}"


def complete_steps(directory):
    """Returns the sorted steps of the complete (marked) checkpoints in ``directory``."""
    if not tf.io.gfile.isdir(directory):
        return []
    steps = []
    for name in tf.io.gfile.listdir(directory):
        match = _NAME.match(name)
        if match and match.group(2) == _MARKER:
            steps.append(int(match.group(1)))
    return sorted(steps)


def latest_checkpoint(directory):
    """Returns ``(step, prefix)`` of the newest complete checkpoint, or ``None``."""
    steps = complete_steps(directory)
    if not steps:
        return None
    return steps[-1], checkpoint_prefix(directory, steps[-1])


class CheckpointStore:
    """Writes, prunes and restores the checkpoints of one model directory.

    Args:
      directory: the folder of the checkpoint files (``<model_dir>/checkpoints``).
      checkpoint: the ``tf.train.Checkpoint`` holding the model, the optimizer and the step.
      keep: how many complete checkpoints to keep (the newest).
      is_chief: whether this worker owns the directory. Other workers of a multi-worker run
        write their (identical) copy to a private temporary folder and delete it, as
        ``MultiWorkerMirroredStrategy`` requires every worker to take part in a save.
    """

    def __init__(self, directory, checkpoint, keep=5, is_chief=True, worker_id=0):
        if keep < 1:
            raise ValueError(f"keep must be at least 1 checkpoint, got {keep}.")
        self.directory = str(directory)
        self.checkpoint = checkpoint
        self.keep = keep
        self.is_chief = is_chief
        self.worker_id = worker_id
        if is_chief:
            tf.io.gfile.makedirs(self.directory)

    def save(self, step):
        """Writes the checkpoint of ``step`` atomically, then prunes old ones; returns its prefix."""
        if not self.is_chief:
            scratch = f"{self.directory}/.worker-{self.worker_id}-scratch"
            self.checkpoint.write(f"{scratch}/ckpt")
            tf.io.gfile.rmtree(scratch)
            return None
        prefix = checkpoint_prefix(self.directory, step)
        self.checkpoint.write(prefix)
        marker = prefix + _MARKER
        temporary = f"{marker}.tmp{time.time_ns()}"
        with tf.io.gfile.GFile(temporary, "w") as stream:
            stream.write(json.dumps({"step": int(step), "time": time.time()}))
        tf.io.gfile.rename(temporary, marker, overwrite=True)
        self._prune()
        return prefix

    def _prune(self):
        for step in complete_steps(self.directory)[: -self.keep]:
            prefix = checkpoint_prefix(self.directory, step)
            tf.io.gfile.remove(prefix + _MARKER)
            self._remove_files_of(step)

    def _remove_files_of(self, step):
        for name in tf.io.gfile.listdir(self.directory):
            match = _NAME.match(name)
            if match and int(match.group(1)) == step:
                tf.io.gfile.remove(f"{self.directory}/{name}")

    def remove_incomplete(self):
        """Deletes the files of checkpoints whose write was interrupted (no commit marker)."""
        if not self.is_chief or not tf.io.gfile.isdir(self.directory):
            return []
        complete = set(complete_steps(self.directory))
        orphans = set()
        for name in tf.io.gfile.listdir(self.directory):
            match = _NAME.match(name)
            if match and (int(match.group(1)) not in complete or ".tmp" in name):
                orphans.add(name)
        for name in sorted(orphans):
            logging.warning("Removing %s left by an interrupted checkpoint write.", name)
            tf.io.gfile.remove(f"{self.directory}/{name}")
        return sorted(orphans)

    def restore_latest(self):
        """Restores the newest complete checkpoint; returns its step, or ``None`` if none exists.

        Every object the checkpoint and the current program share must match (the optimizer
        slots too), so a structural mismatch fails here instead of training on silently.
        """
        self.remove_incomplete()
        latest = latest_checkpoint(self.directory)
        if latest is None:
            return None
        step, prefix = latest
        self.checkpoint.read(prefix).assert_existing_objects_matched()
        return step
