"""DCTTS training speed on the CPU: steps/s of Text2Mel and SSRN with and without XLA.

Uses the demo recipes' models (recipes/dctts/*_demo.gin) on preprocessed demo records
(`ttszoo preprocess --gin_file=recipes/dctts/demo_features.gin`), one static batch shape
(num_buckets=1), the trainer's step (compute_losses -> gradients -> Adam). Reports the first
call (tracing + compilation) and the steady-state steps/s over --steps steps.

    python benchmarks/dctts_training.py --records /tmp/dctts/records --steps 20
"""

import argparse
import os
import time

import keras
import tensorflow as tf

import gin
from ttszoo.data import make_dataset
from ttszoo.models import get_model
from ttszoo.training import parse_gin

RECIPES = {"text2mel": "recipes/dctts/text2mel_demo.gin", "ssrn": "recipes/dctts/ssrn_demo.gin"}


def measure(recipe, records, jit_compile, steps, batch_size):
    parse_gin([recipe])
    keras.utils.set_random_seed(0)
    features = gin.query_parameter("ttszoo.data.make_dataset.features")
    batches = make_dataset(
        records, batch_size=batch_size, features=features, num_buckets=1, frame_multiple=4
    )
    batch = next(iter(batches))
    model = get_model()
    model.compute_losses(batch)
    optimizer = keras.optimizers.Adam(1e-3)

    @tf.function(jit_compile=jit_compile)
    def step(batch):
        with tf.GradientTape() as tape:
            loss = model.compute_losses(batch, training=True)["loss"]
        optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
        return loss

    started = time.perf_counter()
    float(step(batch))
    first = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(steps):
        loss = step(batch)
    float(loss)
    return first, steps / (time.perf_counter() - started), batch["mel"].shape


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", required=True)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--models", default="text2mel,ssrn")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    print("| model | XLA | batch [B, T, F] | first call (s) | steps/s |")
    print("|---|---|---|---|---|")
    for name in args.models.split(","):
        for jit in (False, True):
            first, rate, shape = measure(
                RECIPES[name], args.records, jit, args.steps, args.batch_size
            )
            print(f"| {name} | {jit} | {list(shape)} | {first:.1f} | {rate:.2f} |", flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
