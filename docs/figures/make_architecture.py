"""Draws docs/figures/architecture.png: from text and audio to records, model directory, waveform.

A diagram of names, not of measurements: every box is a folder, a file or a function of ttszoo,
and every arrow a command or call that moves data between them (docs/architecture.md).

    python docs/figures/make_architecture.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUTPUT = Path(__file__).with_name("architecture.png")

# One colour per stage: data, training, model directory, synthesis.
COLOURS = {"data": "#dbe9f6", "train": "#fde3c8", "dir": "#e3f1dc", "speak": "#ece0f3"}


def box(axis, x, y, width, height, title, lines, stage):
    """A rounded box with a bold title and smaller lines; returns its edges for the arrows."""
    axis.add_patch(
        FancyBboxPatch(
            (x, y),
            width,
            height,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=COLOURS[stage],
            edgecolor="#444444",
            linewidth=1.0,
        )
    )
    axis.text(x + width / 2, y + height - 0.17, title, ha="center", va="top", weight="bold",
              fontsize=11)  # fmt: skip
    axis.text(x + width / 2, y + height - 0.55, "\n".join(lines), ha="center", va="top",
              fontsize=8.8, family="monospace", linespacing=1.4)  # fmt: skip
    return {
        "left": (x, y + height / 2),
        "right": (x + width, y + height / 2),
        "top": (x + width / 2, y + height),
        "bottom": (x + width / 2, y),
    }


def arrow(axis, start, end, label=None, offset=(0.0, 0.12), curve=0.0):
    """An arrow from ``start`` to ``end`` with an optional label near its middle."""
    axis.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=12,
            linewidth=1.2,
            color="#333333",
            connectionstyle=f"arc3,rad={curve}",
            shrinkA=2,
            shrinkB=2,
        )
    )
    if label:
        middle = ((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1])
        axis.text(*middle, label, ha="center", va="bottom", fontsize=8.8, style="italic")


def main():
    figure, axis = plt.subplots(figsize=(13, 8.2))
    axis.set_xlim(0, 13)
    axis.set_ylim(0, 8.2)
    axis.axis("off")

    # Row 1: data.
    corpus = box(axis, 0.2, 6.0, 3.0, 1.9, "corpus folder",
                 ["metadata.csv (LJSpeech format)", "wavs/*.wav", "", "or: ttszoo corpus",
                  "(eSpeak NG demo)"], "data")  # fmt: skip
    preprocess = box(axis, 4.6, 6.0, 3.8, 1.9, "preprocess_corpus",
                     ["text: cleaners -> Tokenizer ids", "audio: AudioConfig ->",
                      "  trim, STFT, mel, dB in [0, 1]", "worker processes, deterministic"],
                     "data")  # fmt: skip
    records = box(axis, 9.8, 6.0, 3.0, 1.9, "records directory",
                  ["train-*.tfrecord", "validation-*.tfrecord", "features.json",
                   "(audio + tokenizer)"], "data")  # fmt: skip
    arrow(axis, corpus["right"], preprocess["left"], "ttszoo preprocess")
    arrow(axis, preprocess["right"], records["left"], "shards")

    # Row 2: training.
    recipe = box(axis, 0.2, 3.3, 3.0, 2.0, "gin recipe",
                 ["gin/recipes/<family>/*.gin", "includes models/,", "datasets/, optimization/",
                  "+ --gin_param"], "train")  # fmt: skip
    trainer = box(axis, 4.6, 3.3, 3.8, 2.0, "train (Trainer)",
                  ["make_dataset: buckets,", "  static shapes", "get_model(name) -> registry",
                   "strategy, compiled step,", "losses -> optimizer"], "train")  # fmt: skip
    model_dir = box(axis, 9.8, 3.3, 3.0, 2.0, "model directory",
                    ["operative_config.gin", "fingerprint.json", "features.json, batch_spec.json",
                     "checkpoints/, train/, samples/", "noise_schedules/ (diffusion)"],
                    "dir")  # fmt: skip
    arrow(axis, recipe["right"], trainer["left"], "ttszoo train")
    arrow(axis, records["bottom"], (trainer["top"][0] + 1.2, trainer["top"][1]), "make_dataset",
          offset=(-0.2, 0.05))  # fmt: skip
    arrow(axis, trainer["right"], model_dir["left"], "checkpoints, logs")

    # Row 3: synthesis.
    text = box(axis, 0.2, 0.3, 3.0, 2.2, "text",
               ['"Hello there."', "", "Tokenizer from", "features.json"], "speak")  # fmt: skip
    acoustic = box(axis, 4.6, 0.3, 3.8, 2.2, "Synthesizer",
                   ["load_trained_model(dir)", "acoustic.synthesize(ids)", "  -> mel",
                    "vocoder.vocode(mel) -> audio", "  or linear -> Griffin-Lim"],
                   "speak")  # fmt: skip
    waveform = box(axis, 9.8, 0.3, 3.0, 2.2, "waveform",
                   ["float32 in [-1, 1]", "save_wav / .wav", "", "ttszoo export:",
                    "SavedModel"], "speak")  # fmt: skip
    arrow(axis, text["right"], acoustic["left"], "ttszoo synthesize")
    arrow(axis, model_dir["bottom"], (acoustic["top"][0] + 1.2, acoustic["top"][1]),
          "acoustic + vocoder dirs", offset=(-0.3, 0.05))  # fmt: skip
    arrow(axis, acoustic["right"], waveform["left"], "audio")

    figure.tight_layout()
    figure.savefig(OUTPUT, dpi=100)
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
