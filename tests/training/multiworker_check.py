"""Run by test_multiworker.py as one worker of a two-worker cluster on loopback (TF_CONFIG is set
by the test). make_strategy must pick MultiWorkerMirroredStrategy from TF_CONFIG; both workers
train the tiny vocoder synchronously into one model directory; prints a JSON report."""

import json
import sys

import keras
import numpy as np
import tensorflow as tf
from tiny_models import fixed_tiny_vocoder, synthetic_dataset

from ttszoo.training import Trainer
from ttszoo.training.strategy import make_strategy

strategy = make_strategy()
data = synthetic_dataset(None, split="validation")
trainer = Trainer(
    sys.argv[1], strategy, fixed_tiny_vocoder, lambda precision: keras.optimizers.SGD(0.5), data, data,
    validate_every=3, checkpoint_every=2, sample_every=0, log_every=1, verbose=False,
)  # fmt: skip
logs = trainer.fit(3)
weights = np.concatenate([np.ravel(w.numpy()) for w in trainer.model.weights])
print(
    json.dumps(
        {
            "multi_worker": isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy),
            "replicas": strategy.num_replicas_in_sync,
            "chief": trainer.is_chief,
            "weights": weights.tolist(),
            "loss": logs["loss"],
            "step": int(trainer.model.optimizer.iterations.numpy()),
            "tf": tf.__version__,
        }
    )
)
