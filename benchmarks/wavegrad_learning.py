"""Proof that WaveGrad learns, on the CPU: the quarter-width WaveGrad on the demo corpus.

1. Speaks ``--utterances`` sentences of the eSpeak NG demo corpus and preprocesses them at
   22.05 kHz with hop 300 (the paper's factors 5*5*3*2*2).
2. Trains ``recipes/wavegrad/demo.gin`` (``models/wavegrad_small.gin``, about 1 M parameters)
   through the real trainer for ``--steps`` steps. Every ``--eval_every`` steps (and before the
   first) a callback vocodes held-out utterances from their ground-truth mels with the named
   6-iteration schedule and records their log-mel distance to the recorded audio.
3. Searches a 6-iteration schedule (lmnt's mantissa grid, a seeded subset) on some held-out
   utterances and scores it, the named ``wavegrad-6`` and a 50-iteration linear schedule on
   the other held-out utterances.
4. Writes the results (JSON) and two figures: the curves and a spectrogram comparison.

    python benchmarks/wavegrad_learning.py --work_dir /tmp/wavegrad_learning --steps 600
"""

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import keras
import numpy as np

from ttszoo.audio import AudioConfig
from ttszoo.data import build_demo_corpus, preprocess_corpus
from ttszoo.diffusion import NoiseSchedule, search_schedule
from ttszoo.diffusion.searched_schedules import candidate_schedules
from ttszoo.evaluation.logmel import log_mel_distance, log_mel_spectrogram
from ttszoo.training import parse_gin, train
from ttszoo.training.schedule_search import held_out_batch

AUDIO = AudioConfig(sample_rate=22050, hop_length=300, win_length=1200, n_fft=2048)
# 50 linear betas whose final noise level (0.078) is close to the training schedule's (0.081).
LINEAR_50 = NoiseSchedule.linear(1e-6, 0.19, 50, name="linear-50")


class HeldOutDistance(keras.callbacks.Callback):
    """Log-mel distance of held-out reconstructions every ``every`` steps (and at step 0)."""

    def __init__(self, mel, audio, every):
        super().__init__()
        self.mel, self.audio, self.every = mel, audio, every
        self.history, self.losses = [], []

    def evaluate(self, step):
        started = time.perf_counter()
        generated = self.model.vocode(self.mel, seed=0)["audio"]
        distance = float(np.mean(log_mel_distance(generated, self.audio, AUDIO.sample_rate)))
        self.history.append({"step": step, "logmel": distance})
        print(f"step {step}: held-out log-mel distance {distance:.4f} "
              f"({time.perf_counter() - started:.1f} s)", flush=True)  # fmt: skip

    def on_train_begin(self, logs=None):
        self.evaluate(0)

    def on_train_batch_end(self, step, logs=None):
        self.losses.append({"step": step + 1, "loss": logs["loss"]})
        if (step + 1) % self.every == 0:
            self.evaluate(step + 1)


def score(model, mel, audio, schedule, seeds=(0, 1)):
    distances = [
        float(np.mean(log_mel_distance(model.vocode(mel, seed=s, schedule=schedule)["audio"],
                                       audio, AUDIO.sample_rate)))
        for s in seeds
    ]  # fmt: skip
    return float(np.mean(distances))


def figures(results, model, mel, audio, schedules, out_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
    steps, losses = zip(*[(r["step"], r["loss"]) for r in results["losses"]], strict=True)
    window = min(20, len(losses))
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
    left.plot(steps, losses, alpha=0.3, label="per step")
    left.plot(steps[window - 1 :], smooth, label=f"mean of {window}")
    left.set(xlabel="step", ylabel="L1 noise loss", title="training loss")
    left.legend()
    history = results["held_out"]
    right.plot([h["step"] for h in history], [h["logmel"] for h in history], "o-")
    right.set(xlabel="step", ylabel="log-mel L1", title="held-out reconstruction (6 iterations)")
    fig.tight_layout()
    fig.savefig(out_dir / "wavegrad_learning.png", dpi=110)

    rows = [("recorded audio", audio[:1])] + [
        (f"{name} ({results['scores'][name]:.3f})",
         model.vocode(mel[:1], seed=0, schedule=schedule)["audio"])
        for name, schedule in schedules.items()
    ]  # fmt: skip
    fig, axes = plt.subplots(len(rows), 1, figsize=(8, 2.1 * len(rows)), sharex=True)
    for axis, (title, waveform) in zip(axes, rows, strict=True):
        spectrogram = log_mel_spectrogram(waveform, AUDIO.sample_rate)[0].numpy()
        axis.imshow(spectrogram.T, origin="lower", aspect="auto", vmin=-10, vmax=3)
        axis.set_title(title, fontsize=9)
        axis.set_ylabel("mel band")
    axes[-1].set_xlabel("frame (hop 256)")
    fig.tight_layout()
    fig.savefig(out_dir / "wavegrad_spectrograms.png", dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work_dir", default="/tmp/wavegrad_learning")
    parser.add_argument("--utterances", type=int, default=120)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--eval_every", type=int, default=100)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--search_candidates", type=int, default=48)
    parser.add_argument(
        "--held_out", type=int, default=6, help="utterances: half scored, half searched"
    )
    parser.add_argument("--held_out_frames", type=int, default=96)
    parser.add_argument("--jit_compile", type=int, default=1, help="0: skip XLA (a busy CPU)")
    parser.add_argument("--figures", default=str(Path(__file__).parents[1] / "docs" / "figures"))
    args = parser.parse_args()
    work = Path(args.work_dir)
    started = time.perf_counter()
    load_before = os.getloadavg()

    corpus = build_demo_corpus(work / "corpus", limit=args.utterances, progress=False)
    records = work / "records"
    if not (records / "features.json").exists():
        preprocess_corpus(corpus, records, audio_config=AUDIO, num_workers=2,
                          validation_fraction=0.1, include=("audio",), progress=False)  # fmt: skip
    mel, audio = held_out_batch(records, args.held_out, args.held_out_frames)
    half = mel.shape[0] // 2
    eval_mel, eval_audio = mel[:half], audio[:half]
    search_mel, search_audio = mel[half:], audio[half:]

    callback = HeldOutDistance(eval_mel, eval_audio, args.eval_every)
    parse_gin(
        ["recipes/wavegrad/demo.gin"],
        [f"BATCH_SIZE = {args.batch_size}", f"train.steps = {args.steps}",
         "train.validate_every = 0", "train.sample_every = 0", "train.log_every = 50",
         f"train.checkpoint_every = {args.steps}", "train.verbose = False",
         f"train.jit_compile = {bool(args.jit_compile)}"],
    )  # fmt: skip
    shutil.rmtree(work / "model", ignore_errors=True)  # always a cold start
    train_started = time.perf_counter()
    train(model_dir=str(work / "model"), records_dir=str(records), callbacks=[callback])
    train_seconds = time.perf_counter() - train_started
    model = callback.model

    search_started = time.perf_counter()
    candidates = candidate_schedules(6, "mantissa", 3, args.search_candidates, seed=0)
    searched, _ = search_schedule(
        model, search_mel, search_audio, candidates, AUDIO.sample_rate, progress=True
    )
    search_seconds = time.perf_counter() - search_started
    schedules = {"searched-6": searched, "wavegrad-6": NoiseSchedule.inference(6),
                 "linear-50": LINEAR_50}  # fmt: skip
    results = {
        "parameters": model.count_params(),
        "utterances": args.utterances,
        "batch_size": args.batch_size,
        "steps": args.steps,
        "train_seconds": train_seconds,
        "jit_compile": bool(args.jit_compile),
        "search_seconds": search_seconds,
        "search_candidates": len(candidates),
        "held_out": callback.history,
        "losses": callback.losses,
        "searched_betas": searched.betas.tolist(),
        "scores": {name: score(model, eval_mel, eval_audio, s) for name, s in schedules.items()},
        "eval_utterances": int(eval_mel.shape[0]),
        "eval_frames": int(eval_mel.shape[1]),
        "total_seconds": time.perf_counter() - started,
        "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }
    (work / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    figures(results, model, eval_mel, eval_audio, schedules, Path(args.figures))
    summary = {k: v for k, v in results.items() if k != "losses"}
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
