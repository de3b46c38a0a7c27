"""Proof that DCTTS Text2Mel learns on the demo corpus, on the CPU (issue 5, point 6).

Trains the demo recipe's Text2Mel (recipes/dctts/text2mel_demo.gin) with the real trainer and,
every --eval_every steps (and at step 0), measures on the held-out validation utterances (not
trained on) the teacher-forced mel L1 and the focus rate of the attention; at the end it
synthesizes the held-out sentences of ``ttszoo.data.held_out_sentences()`` (text that is in no
recording) frame by frame and reports how diagonal their alignments are. Writes
docs/figures/dctts_learning.png (curves) and docs/figures/dctts_alignment.png (alignments), and
prints a JSON summary with the wall time and the load average seen.

    ttszoo corpus --out /tmp/dctts/corpus
    ttszoo preprocess --corpus_dir=/tmp/dctts/corpus --out_dir=/tmp/dctts/records \
        --gin_file=recipes/dctts/demo_features.gin
    python benchmarks/dctts_learning.py --records /tmp/dctts/records --model_dir /tmp/dctts/t2m
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

import gin
from ttszoo.data import held_out_sentences, make_dataset
from ttszoo.models import get_model
from ttszoo.text import Tokenizer
from ttszoo.training import parse_gin
from ttszoo.training.model_dir import ModelDirectory
from ttszoo.training.optimization import make_optimizer
from ttszoo.training.strategy import make_strategy
from ttszoo.training.trainer import Trainer

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"


def diagonality(alignment, band=0.1):
    """Attention mass within ``|n/N - t/T| <= band`` of the diagonal, for one [N, T] alignment."""
    symbols, frames = alignment.shape
    n = np.arange(symbols)[:, None] / symbols
    t = np.arange(frames)[None, :] / frames
    return float((alignment * (np.abs(n - t) <= band)).sum() / alignment.sum())


def held_out_metrics(model, sentences):
    """Synthesizes each sentence; returns per-sentence focus rate, diagonality, stop flag."""
    tokenizer = Tokenizer()
    rows = []
    for sentence in sentences:
        ids = tf.constant([tokenizer.encode(sentence)], tf.int32)
        outputs = model.synthesize(ids)
        frames = int(outputs["reduced_length"][0])
        alignment = outputs["alignment"][0, :, :frames].numpy()
        rows.append(
            {
                "sentence": sentence,
                "frames": frames,
                "focus_rate": float(alignment.max(0).mean()),
                "diagonality": diagonality(alignment),
                "monotonic": float((np.diff(alignment.argmax(0)) >= 0).mean()),
                "stopped": frames < model.max_decoder_steps,
                "alignment": alignment,
            }
        )
    return rows


def plot(history, rows, path_curves, path_alignment):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(1, 2, figsize=(10, 3.2))
    steps = [h["step"] for h in history]
    axes[0].plot(steps, [h["mel_l1"] for h in history], marker="o")
    axes[0].set(xlabel="step", ylabel="held-out mel L1", title="Held-out mel L1 (teacher forced)")
    axes[1].plot(steps, [h["focus_rate"] for h in history], marker="o", color="C1")
    axes[1].set(xlabel="step", ylabel="focus rate", title="Held-out attention focus rate")
    figure.tight_layout()
    figure.savefig(path_curves, dpi=90)
    pyplot.close(figure)
    shown = rows[:3]
    figure, axes = pyplot.subplots(1, len(shown), figsize=(4 * len(shown), 3.2))
    for axis, row in zip(np.atleast_1d(axes), shown, strict=True):
        axis.imshow(row["alignment"], origin="lower", aspect="auto", interpolation="none")
        axis.set(xlabel="decoder frame (every 4th mel frame)", ylabel="symbol")
        axis.set_title(f"{row['sentence'][:38]}\nfocus {row['focus_rate']:.2f}", fontsize=8)
    figure.tight_layout()
    figure.savefig(path_alignment, dpi=90)
    pyplot.close(figure)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", required=True)
    parser.add_argument("--model_dir", required=True)
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--eval_every", type=int, default=200)
    parser.add_argument("--sentences", type=int, default=6)
    parser.add_argument("--figures", default=str(FIGURES))
    parser.add_argument(
        "--evaluate_only",
        action="store_true",
        help="skip training: synthesize with the trained --model_dir and redraw the figures",
    )
    args = parser.parse_args()
    history_file = Path(args.model_dir) / "learning_history.json"
    if args.evaluate_only:
        from ttszoo.training.loading import load_trained_model

        history = json.loads(history_file.read_text())
        report(args, history, load_trained_model(args.model_dir).model, None, None)
        return

    parse_gin(["recipes/dctts/text2mel_demo.gin"], [f"train.steps = {args.steps}"])
    ModelDirectory(args.model_dir).copy_features(args.records)
    validation = make_dataset(
        args.records, split="validation", batch_size=2, num_buckets=1, frame_multiple=4
    )
    trainer = Trainer(
        args.model_dir,
        make_strategy(),
        get_model,
        make_optimizer,
        gin.get_configurable(make_dataset)(args.records, split="train"),
        validation,
        jit_compile=False,
        checkpoint_every=args.eval_every,
        log_every=50,
        validate_every=0,
        validation_steps=None,
        sample_every=0,
        verbose=False,
    )
    history, loads, seconds, first = [], [os.getloadavg()[0]], 0.0, 0
    if history_file.exists():  # resume a run that was stopped, or extend it to more steps
        history = json.loads(history_file.read_text())
        seconds, first = history[-1]["seconds"], history[-1]["step"] + args.eval_every
    for step in range(first, args.steps + 1, args.eval_every):
        if step:
            started = time.perf_counter()
            trainer.fit(step)
            seconds += time.perf_counter() - started
            loads.append(os.getloadavg()[0])
        losses = trainer.validate()
        history.append(dict(step=step, seconds=round(seconds, 1), **losses))
        print(json.dumps(history[-1]), flush=True)
        history_file.write_text(json.dumps(history))
    report(args, history, trainer.model, seconds, loads)


def report(args, history, model, seconds, loads):
    """Synthesizes the held-out sentences, draws the figures and prints the summary."""
    rows = held_out_metrics(model, held_out_sentences()[: args.sentences])
    plot(
        history,
        rows,
        Path(args.figures) / "dctts_learning.png",
        Path(args.figures) / "dctts_alignment.png",
    )
    summary = {
        "steps": history[-1]["step"],
        "training_seconds": history[-1]["seconds"] if seconds is None else round(seconds, 1),
        "load_average_1min": None if loads is None else [round(x, 2) for x in loads],
        "held_out_mel_l1": [history[0]["mel_l1"], history[-1]["mel_l1"]],
        "held_out_focus_rate": [history[0]["focus_rate"], history[-1]["focus_rate"]],
        "synthesized": [{k: v for k, v in r.items() if k != "alignment"} for r in rows],
    }
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
