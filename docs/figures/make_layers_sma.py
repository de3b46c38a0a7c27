"""Draws docs/figures/layers_sma_toy.png: plain softmax attention against stepwise monotonic
attention, both trained for a few hundred steps on a toy monotonic copy task.

Task: a memory of 10 random vectors; output step i must reproduce memory entry ``i // 3`` from
the previous output frame and the step's sinusoidal position (teacher forcing). The memory
entries carry the sinusoidal position of their first output step, so plain attention can learn the
diagonal too. Runs in about a minute on 2 CPU cores:

    python docs/figures/make_layers_sma.py
"""

from pathlib import Path

import keras
import matplotlib
import numpy as np
import tensorflow as tf

import ttszoo  # noqa: F401  (selects the TensorFlow Keras backend)
from ttszoo import layers

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

KEYS, REPEAT, DIM, POSITION_DIM, BATCH = 10, 3, 8, 8, 16
STEPS = KEYS * REPEAT


def positions(indices):
    """Sinusoidal encodings [len(indices), POSITION_DIM] of (fractional) step indices."""
    rates = 1.0 / (30.0 ** (np.arange(POSITION_DIM // 2) / (POSITION_DIM // 2)))
    angles = np.asarray(indices, np.float64)[:, None] * rates[None, :]
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=-1).astype(np.float32)


def toy_batch(rng):
    memory = rng.normal(size=(BATCH, KEYS, DIM)).astype(np.float32)
    targets = np.repeat(memory, REPEAT, axis=1)
    previous = np.concatenate([np.zeros((BATCH, 1, DIM), np.float32), targets[:, :-1]], axis=1)
    query_position = np.broadcast_to(positions(np.arange(STEPS)), (BATCH, STEPS, POSITION_DIM))
    key_position = np.broadcast_to(positions(np.arange(KEYS) * REPEAT), (BATCH, KEYS, POSITION_DIM))
    queries = np.concatenate([previous, query_position], axis=-1)
    keys = np.concatenate([memory, key_position], axis=-1)
    return queries, keys, targets


def train(monotonic, steps=300, seed=0):
    keras.utils.set_random_seed(seed)
    attention = layers.StepwiseMonotonicMultiHeadAttention(
        num_heads=2,
        key_dim=16,
        output_dim=DIM,
        dropout=0.0,
        noise_std=1.0,
        score_bias_init=1.0,
        monotonic=monotonic,
        seed=seed,
    )
    optimizer = keras.optimizers.Adam(3e-3)
    rng = np.random.default_rng(seed)
    attention.build((None, STEPS, DIM + POSITION_DIM), (None, KEYS, DIM + POSITION_DIM))

    @tf.function(jit_compile=True)
    def step(queries, keys, targets):
        with tf.GradientTape() as tape:
            output, _, _ = attention(queries, keys, training=True)
            loss = tf.reduce_mean(tf.square(output - targets))
        variables = attention.trainable_variables
        gradients = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return loss

    for _ in range(steps):
        loss = step(*toy_batch(rng))
    queries, keys, targets = toy_batch(np.random.default_rng(123))
    output, alignment, rate = attention(queries, keys, training=False)
    test_loss = float(tf.reduce_mean(tf.square(output - targets)))
    hard = attention(queries, keys, hard=True)[1] if monotonic else None
    return alignment.numpy()[0], None if hard is None else hard.numpy()[0], float(loss), test_loss


def main():
    plain, _, _, plain_loss = train(monotonic=False)
    soft, hard, _, sma_loss = train(monotonic=True)
    panels = [
        (plain, f"plain softmax (focused head)\ntest MSE {plain_loss:.3f}"),
        (soft, f"stepwise monotonic, soft\ntest MSE {sma_loss:.3f}"),
        (hard, "stepwise monotonic, hard (inference)"),
    ]
    figure, axes = plt.subplots(1, 3, figsize=(11, 3.6), sharey=True)
    for axis, (alignment, title) in zip(axes, panels, strict=True):
        axis.imshow(alignment.T, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=1)
        axis.plot(np.arange(STEPS), np.arange(STEPS) // REPEAT, "w:", linewidth=1)
        axis.set_title(title, fontsize=9)
        axis.set_xlabel("output step (query)")
    axes[0].set_ylabel("memory entry (key)")
    figure.suptitle("Toy copy task after 300 training steps (dotted: true alignment)", fontsize=10)
    figure.tight_layout()
    path = Path(__file__).with_name("layers_sma_toy.png")
    figure.savefig(path, dpi=110)
    print(f"wrote {path}; test MSE plain {plain_loss:.4f}, SMA {sma_loss:.4f}")


if __name__ == "__main__":
    main()
