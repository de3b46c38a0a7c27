"""Atomic checkpoints, pruned to the last N, that survive a SIGKILL at any instant.

A checkpoint of step S is the files ``ckpt-<S>.index`` and ``ckpt-<S>.data-*`` written by
``tf.train.Checkpoint.write`` plus a commit marker ``ckpt-<S>.complete``. The marker is written
last, to a temporary name and then renamed, so it exists only when every data file is complete.
Readers see only marked checkpoints; files of a checkpoint whose write was interrupted carry no
marker and are deleted on the next start. Pruning removes the marker first, then the files, so
an interrupted prune also leaves only complete checkpoints visible.

A marked checkpoint can still be damaged later (a truncated copy, a disk error). Restoring
reads every tensor of the newest one first (``checkpoint_problem``); a damaged one is reported
and the previous complete one is used. Training also sets the damaged files aside (renamed
``corrupt-ckpt-<S>.*``) so they are neither pruned as good nor restored again. A failed write
(a full disk) removes its partial files and raises ``CheckpointWriteError``, leaving the
previous checkpoints as they were.

The paths go through ``tf.io.gfile`` and so work on local disks and on ``gs://`` buckets.
"""

import json
import re
import time

import tensorflow as tf
from absl import logging

from ttszoo.errors import InvalidInputError, TTSZooError

_NAME = re.compile(r"^ckpt-(\d+)(\.complete|\.index|\.data-.*|\.complete\.tmp.*)$")
_MARKER = ".complete"


class UntrackedWeightsError(TTSZooError, ValueError):
    """A model holds weights that ``tf.train.Checkpoint`` cannot reach from the model."""


class CheckpointWriteError(TTSZooError, OSError):
    """A checkpoint could not be written (for example a full disk); the run stopped."""


class CorruptCheckpointsError(TTSZooError, ValueError):
    """Every complete checkpoint of a model directory is unreadable."""


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


def interrupted_files(directory):
    """Returns the sorted names of checkpoint files without a commit marker (interrupted writes)."""
    if not tf.io.gfile.isdir(directory):
        return []
    complete = set(complete_steps(directory))
    return sorted(
        name
        for name in tf.io.gfile.listdir(directory)
        if (match := _NAME.match(name)) and (int(match.group(1)) not in complete or ".tmp" in name)
    )


def checkpoint_problem(prefix):
    """Returns why the checkpoint at ``prefix`` cannot be read, or ``None`` if every tensor reads.

    Reads the index and then every tensor, so a random ``.index`` and a truncated ``.data``
    file are both found. TensorFlow reports damage through several exception types (a
    ``DataLossError`` for a bad index, an ``IndexError`` or ``OutOfRangeError`` for truncated
    data), so any exception counts as damage.
    """
    try:
        # The reader itself: tf.train.load_checkpoint also globs for a 'checkpoint' file, which
        # fails on filesystems such as ram://.
        reader = tf.compat.v1.train.NewCheckpointReader(prefix)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as error:  # noqa: BLE001 -- every failure means "unreadable", see above
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return f"{type(error).__name__}: {detail[:200]}"
    return None


def newest_readable_checkpoint(directory, on_damaged=None):
    """Returns ``(step, prefix)`` of the newest checkpoint whose every tensor reads, or ``None``
    when there is no complete checkpoint.

    Each damaged checkpoint on the way is logged as a warning naming it and the damage, and
    passed to ``on_damaged(step)`` when given.

    Raises:
      CorruptCheckpointsError: there are complete checkpoints but every one is damaged.
    """
    damaged = []
    for step in reversed(complete_steps(directory)):
        prefix = checkpoint_prefix(directory, step)
        problem = checkpoint_problem(prefix)
        if problem is None:
            return step, prefix
        logging.warning(
            "The checkpoint of step %d (%s.*) is damaged (%s); trying the previous one.",
            step,
            prefix,
            problem,
        )
        damaged.append(step)
        if on_damaged is not None:
            on_damaged(step)
    if damaged:
        raise CorruptCheckpointsError(
            f"Every checkpoint in {directory} (steps {sorted(damaged)}) is damaged; see the "
            "warnings above. Restore them from a backup, or train into a new --model_dir "
            "(training renames damaged ones corrupt-ckpt-*, so a rerun starts from scratch)."
        )
    return None


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
            raise InvalidInputError(f"keep must be at least 1 checkpoint, got {keep}.")
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
        try:
            self.checkpoint.write(prefix)
            marker = prefix + _MARKER
            temporary = f"{marker}.tmp{time.time_ns()}"
            with tf.io.gfile.GFile(temporary, "w") as stream:
                stream.write(json.dumps({"step": int(step), "time": time.time()}))
            tf.io.gfile.rename(temporary, marker, overwrite=True)
        except (OSError, tf.errors.OpError) as error:
            self._abandon_write(step, error)
        self._prune()
        return prefix

    def _abandon_write(self, step, error):
        """Removes the partial files of the failed write of ``step`` and raises why it failed."""
        try:
            self._remove_files_of(step)
        except (OSError, tf.errors.OpError) as cleanup_error:
            logging.warning("Could not remove the partial checkpoint files: %s", cleanup_error)
        kept = complete_steps(self.directory)
        previous = (
            f"The previous checkpoint (step {kept[-1]}) is intact"
            if kept
            else "No earlier checkpoint exists"
        )
        reason = getattr(error, "message", None) or str(error)
        raise CheckpointWriteError(
            f"Training stopped: the checkpoint of step {int(step)} could not be written to "
            f"{self.directory} ({reason}). {previous}; free disk space (or fix the folder's "
            "permissions) and resume with the same `ttszoo train --model_dir ...`."
        ) from error

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
        if not self.is_chief:
            return []
        orphans = interrupted_files(self.directory)
        for name in orphans:
            logging.warning("Removing %s left by an interrupted checkpoint write.", name)
            tf.io.gfile.remove(f"{self.directory}/{name}")
        return orphans

    def restore_latest(self):
        """Restores the newest complete checkpoint; returns its step, or ``None`` if none exists.

        Every object the checkpoint and the current program share must match (the optimizer
        slots too), so a structural mismatch fails here instead of training on silently. A
        damaged checkpoint is logged, set aside and the previous complete one restored.

        Raises:
          CorruptCheckpointsError: every complete checkpoint is damaged (all set aside).
        """
        self.remove_incomplete()
        found = newest_readable_checkpoint(
            self.directory, on_damaged=self._set_aside if self.is_chief else None
        )
        if found is None:
            return None
        step, prefix = found
        self.checkpoint.read(prefix).assert_existing_objects_matched()
        return step

    def _set_aside(self, step):
        """Renames the damaged checkpoint of ``step`` to ``corrupt-ckpt-<step>.*``, out of the
        checkpoint list (so it is neither restored again nor counted as a kept checkpoint)."""
        names = [
            name
            for name in tf.io.gfile.listdir(self.directory)
            if (match := _NAME.match(name)) and int(match.group(1)) == step
        ]
        for name in sorted(names, key=lambda name: not name.endswith(_MARKER)):  # marker first
            tf.io.gfile.rename(
                f"{self.directory}/{name}", f"{self.directory}/corrupt-{name}", overwrite=True
            )
