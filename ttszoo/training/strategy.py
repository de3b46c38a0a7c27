"""One function choosing the tf.distribute strategy for where the program runs."""

import json
import os

import tensorflow as tf
from absl import logging

from ttszoo.errors import InvalidInputError


def make_strategy(tpu=None):
    """Returns the distribution strategy for this machine or cluster.

    In order of precedence:
      * ``tpu`` given (``"local"`` on a Colab / Cloud TPU VM, or a TPU name / ``grpc://``
        address): connects to the TPU system and returns a ``TPUStrategy``.
      * ``TF_CONFIG`` names a cluster with more than one task: ``MultiWorkerMirroredStrategy``.
      * two or more GPUs: ``MirroredStrategy`` over all of them.
      * otherwise the default strategy (one device).

    Build the model, the optimizer and the metrics inside ``strategy.scope()``.
    """
    if tpu:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        strategy = tf.distribute.TPUStrategy(resolver)
    elif _cluster_size() > 1:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    elif len(tf.config.list_logical_devices("GPU")) > 1:
        strategy = tf.distribute.MirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()
    logging.info(
        "Distribution: %s with %d replica(s).",
        type(strategy).__name__,
        strategy.num_replicas_in_sync,
    )
    return strategy


def _cluster_size():
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return 1
    try:
        cluster = json.loads(raw).get("cluster", {})
    except json.JSONDecodeError as error:
        raise InvalidInputError(
            f"TF_CONFIG is not valid JSON ({error}); fix or unset it."
        ) from error
    return sum(len(tasks) for tasks in cluster.values())


def is_chief(strategy):
    """Whether this worker writes the model directory (the chief, or the only worker)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or isinstance(strategy, tf.distribute.TPUStrategy):
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type is None:
        return True
    if "chief" in resolver.cluster_spec().as_dict():
        return task_type == "chief"
    return task_type == "worker" and task_id == 0


def worker_id(strategy):
    """This worker's index in its cluster (0 for single-machine strategies)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    return getattr(resolver, "task_id", 0) or 0


def supports_jit_compile(strategy):
    """Whether XLA-compiled steps can run under ``strategy``.

    XLA cannot address variables of several logical devices carved from one CPU
    (tensorflow.org/xla/known_issues), so a multi-replica strategy on CPUs runs uncompiled.
    """
    if strategy.num_replicas_in_sync == 1:
        return True
    devices = getattr(strategy.extended, "worker_devices", ())
    return not any("CPU" in device.upper() for device in devices)
