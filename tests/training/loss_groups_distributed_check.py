"""Run by test_loss_groups.py in a fresh process: two logical CPU devices must be configured
before TensorFlow initialises. Trains the two-player game under MirroredStrategy over them and
prints a JSON report of the trained vectors and numpy's."""

import json
import sys

import tensorflow as tf

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2
)

from test_loss_groups import LR_D, LR_G, MOMENTUM, TwoPlayers, dataset, reference, sgd  # noqa: E402

import gin  # noqa: E402
from ttszoo.training import Trainer  # noqa: E402

gin.parse_config(f"keras.optimizers.SGD.momentum = {MOMENTUM}")
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
trainer = Trainer(
    sys.argv[1], strategy, lambda: TwoPlayers(optimizer_fns=(sgd(LR_D), sgd(LR_G))), None,
    dataset(), log_every=0, checkpoint_every=0, sample_every=0, verbose=False,
    steps_per_execution=4,
)  # fmt: skip
trainer.fit(5)
x, y, _ = reference(5)
print(
    json.dumps(
        {
            "replicas": strategy.num_replicas_in_sync,
            "trained": [trainer.model.x.numpy().tolist(), trainer.model.y.numpy().tolist()],
            "reference": [x.tolist(), y.tolist()],
        }
    )
)
