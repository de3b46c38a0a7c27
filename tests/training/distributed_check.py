"""Run by test_distributed.py in a fresh process: two logical CPU devices must be configured
before TensorFlow initialises. Trains the tiny vocoder with MirroredStrategy over them and with
the default strategy from the same weights on the same batches; prints a JSON report."""

import json
import sys

import tensorflow as tf

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2
)

import keras  # noqa: E402
import numpy as np  # noqa: E402
from tiny_models import fixed_tiny_vocoder, synthetic_dataset  # noqa: E402

from ttszoo.training import Trainer, complete_steps  # noqa: E402


def run(strategy, model_dir, steps=3):
    data = synthetic_dataset(None, split="validation")
    trainer = Trainer(
        model_dir, strategy, fixed_tiny_vocoder, lambda precision: keras.optimizers.SGD(0.5), data, data,
        validate_every=3, checkpoint_every=2, sample_every=0, log_every=1, verbose=False,
    )  # fmt: skip
    logs = trainer.fit(steps)
    weights = [np.asarray(w.numpy()) for w in trainer.model.weights]
    return trainer, logs, weights


out = sys.argv[1]
mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
mirrored_trainer, mirrored_logs, mirrored_weights = run(mirrored, f"{out}/mirrored")
_, single_logs, single_weights = run(tf.distribute.get_strategy(), f"{out}/single")
initial = [np.asarray(w.numpy()) for w in fixed_tiny_vocoder().weights]
print(
    json.dumps(
        {
            "replicas": mirrored.num_replicas_in_sync,
            "jit_compile": mirrored_trainer.jit_compile,
            "mirrored_logs": mirrored_logs,
            "single_logs": single_logs,
            "weight_difference": max(
                float(np.abs(a - b).max())
                for a, b in zip(mirrored_weights, single_weights, strict=True)
            ),
            "weight_change": max(
                float(np.abs(a - b).max()) for a, b in zip(single_weights, initial, strict=True)
            ),
            "checkpoints": complete_steps(f"{out}/mirrored/checkpoints"),
        }
    )
)
