"""Proof that the WaveNet vocoder learns: held-out NLL and log-mel distance of generated audio.

Builds a slice of the eSpeak NG demo corpus, preprocesses it, and trains the small WaveNet
recipe (gin/recipes/wavenet/demo.gin) through the real trainer on the CPU. Every
``--eval_every`` steps a callback measures, on the held-out (validation) utterances:
  * the negative log-likelihood in bits per sample of the centre crops (``training=False``);
  * the log-mel L1 distance (``ttszoo.evaluation.log_mel_distance``) between audio generated
    from the ground-truth mels (first ``--generate_frames`` frames, batched, fixed seed) and the
    recorded audio.
After every measurement it prints the record as a JSON line and rewrites
docs/figures/wavenet_learning.png and a JSON of the curves (``--out_json``), so a
run stopped early still leaves its figure; at the end it prints a markdown table.
``--from_log LOG`` rebuilds the figure and the JSON from the JSON lines of a run's output.

    python benchmarks/wavenet_learning.py --work_dir /tmp/wavenet_learning --steps 2000
"""

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import ttszoo  # noqa: F401  (selects the TensorFlow Keras backend)
from ttszoo.data import build_demo_corpus, make_dataset, preprocess_corpus
from ttszoo.evaluation.logmel import log_mel_distance
from ttszoo.training import parse_gin, train

ROOT = Path(__file__).resolve().parents[1]


class HeldOutProbe(keras.callbacks.Callback):
    """Measures held-out bits per sample and the log-mel distance of generated audio."""

    def __init__(self, records_dir, every, generate_frames, sample_rate, report=None):
        super().__init__()
        self.every = every
        self.report = report
        self.sample_rate = sample_rate
        self.batches = list(
            make_dataset(records_dir, split="validation", batch_size=1, features=("mel", "audio"))
        )
        usable = [b for b in self.batches if int(b["mel_length"][0]) >= generate_frames]
        self.mel = tf.constant(np.concatenate([b["mel"][:, :generate_frames] for b in usable]))
        hop = self.batches[0]["audio"].shape[1] // self.batches[0]["mel"].shape[1]
        self.reference = tf.constant(
            np.concatenate([b["audio"][:, : generate_frames * hop] for b in usable])
        )
        self.silence_distance = float(
            tf.reduce_mean(
                log_mel_distance(tf.zeros_like(self.reference), self.reference, sample_rate)
            )
        )
        self.records = []
        self._evaluate = None

    def measure(self, step):
        model = self.model
        if self._evaluate is None:
            self._evaluate = tf.function(lambda b: model.compute_losses(b, training=False))
        bits = np.mean([float(self._evaluate(b)["bits_per_sample"]) for b in self.batches])
        started = time.perf_counter()
        generated = model.generate(self.mel, seed=0)
        seconds = time.perf_counter() - started
        distance = float(
            tf.reduce_mean(log_mel_distance(generated, self.reference, self.sample_rate))
        )
        record = dict(
            step=int(step),
            heldout_bits_per_sample=float(bits),
            generated_log_mel_distance=distance,
            generation_seconds=seconds,
            generated_samples=int(np.prod(generated.shape)),
            wall_seconds=time.perf_counter() - self.started,
        )
        self.records.append(record)
        print(json.dumps(record), flush=True)
        if self.report is not None:
            self.report(self)

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()
        self.measure(0)

    def on_train_batch_end(self, batch, logs=None):
        step = batch + 1
        if step % self.every == 0:
            self.measure(step)


def plot(records, silence_distance, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in records]
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].plot(steps, [r["heldout_bits_per_sample"] for r in records], "o-")
    axes[0].set_xlabel("training step")
    axes[0].set_ylabel("held-out NLL (bits / sample)")
    axes[0].set_title("Held-out negative log-likelihood")
    axes[1].plot(steps, [r["generated_log_mel_distance"] for r in records], "o-", label="generated")
    axes[1].axhline(silence_distance, color="gray", ls="--", label="silence")
    axes[1].set_xlabel("training step")
    axes[1].set_ylabel("log-mel L1 distance")
    axes[1].set_title("Audio generated from ground-truth mels")
    axes[1].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def write_report(probe, args):
    """Writes the figure and the JSON of ``probe.records``; returns the JSON dict."""
    plot(probe.records, probe.silence_distance, args.figure)
    result = dict(
        records=probe.records,
        silence_log_mel_distance=probe.silence_distance,
        heldout_utterances=len(probe.batches),
        generated_utterances=int(probe.mel.shape[0]),
        generate_frames=args.generate_frames,
        utterances=args.utterances,
        steps_requested=args.steps,
    )
    Path(args.out_json).write_text(json.dumps(result, indent=1))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work_dir", default="/tmp/wavenet_learning")
    parser.add_argument("--utterances", type=int, default=120)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--eval_every", type=int, default=250)
    parser.add_argument("--generate_frames", type=int, default=30)
    parser.add_argument("--figure", default=str(ROOT / "docs/figures/wavenet_learning.png"))
    parser.add_argument("--out_json", default=None, help="default: WORK_DIR/wavenet_learning.json")
    parser.add_argument("--from_log", default=None, help="rebuild the report from a run's output")
    args = parser.parse_args()

    work = Path(args.work_dir)
    args.out_json = args.out_json or str(work / "wavenet_learning.json")
    corpus = build_demo_corpus(work / "corpus", limit=args.utterances, progress=False)
    records = work / "records"
    if not (records / "features.json").exists():
        preprocess_corpus(corpus, records, num_workers=1, validation_fraction=0.1, progress=False)
    audio_config = json.loads((records / "features.json").read_text())["audio_config"]
    probe = HeldOutProbe(
        records,
        args.eval_every,
        args.generate_frames,
        audio_config["sample_rate"],
        report=lambda probe: write_report(probe, args),
    )
    if args.from_log:
        lines = Path(args.from_log).read_text().splitlines()
        probe.records = [json.loads(line) for line in lines if line.startswith('{"step"')]
        write_report(probe, args)
        return
    parse_gin(
        ["recipes/wavenet/demo.gin"],
        [
            f"RECORDS_DIR = '{records}'",
            f"HOP_LENGTH = {audio_config['hop_length']}",
            f"train.steps = {args.steps}",
            "train.steps_per_execution = 25",
            f"train.validate_every = {args.steps}",
            f"train.checkpoint_every = {args.steps}",
            "train.sample_every = 0",
            "train.verbose = False",
        ],
    )
    started = time.perf_counter()
    train(model_dir=str(work / f"model_{int(time.time())}"), callbacks=[probe])
    total = time.perf_counter() - started
    write_report(probe, args)
    print("| step | held-out bits/sample | log-mel distance of generated audio |")
    print("|---|---|---|")
    for r in probe.records:
        print(
            f"| {r['step']} | {r['heldout_bits_per_sample']:.2f} | "
            f"{r['generated_log_mel_distance']:.3f} |"
        )
    print(f"silence: {probe.silence_distance:.3f}; wall time {total:.0f} s")


if __name__ == "__main__":
    main()
