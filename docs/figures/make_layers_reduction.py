"""Draws docs/figures/layers_reduction_frames.png: one ReductionProjection at r = 4, 2 and 1.

Three decoder steps go through the same weights (max_r = 4, 8 channels). At factor r each step
emits the first r frames of its r = 4 group, so the outputs are prefixes of the r = 4 ones and
the parameter count never changes.

    python docs/figures/make_layers_reduction.py
"""

from pathlib import Path

import keras
import matplotlib
import numpy as np

import ttszoo  # noqa: F401  (selects the TensorFlow Keras backend)
from ttszoo import layers

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STEPS, CHANNELS, MAX_R = 3, 8, 4


def main():
    keras.utils.set_random_seed(0)
    projection = layers.ReductionProjection(CHANNELS, max_r=MAX_R)
    states = np.random.default_rng(0).normal(size=(1, STEPS, 16)).astype(np.float32)
    figure, axes = plt.subplots(1, 3, figsize=(10, 3.2), sharey=True)
    for axis, r in zip(axes, (4, 2, 1), strict=True):
        projection.r = r
        frames = projection(states).numpy()[0]
        axis.imshow(frames.T, origin="lower", aspect="auto", cmap="coolwarm", vmin=-3, vmax=3)
        for boundary in range(1, STEPS):
            axis.axvline(boundary * r - 0.5, color="k", linewidth=1.5)
        axis.set_title(f"r = {r}: {STEPS * r} frames, {projection.count_params()} weights")
        axis.set_xlabel("output frame (black lines: decoder steps)")
    axes[0].set_ylabel("channel")
    figure.tight_layout()
    path = Path(__file__).with_name("layers_reduction_frames.png")
    figure.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
