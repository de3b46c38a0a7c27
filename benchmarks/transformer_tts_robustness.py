"""Does Transformer TTS learn the demo corpus, and does SMA make its alignments more robust?

Trains the small Transformer TTS (gin/recipes/transformer_tts/demo.gin) twice through the real
trainer, identical except for the SMA switch: ``mha`` keeps plain multihead encoder-decoder
attention, ``sma`` switches the stepwise monotonic alignment on at ``SMA_START_STEP``. Then it
restores both from their model directories, synthesizes the 20 held-out sentences
(``ttszoo.data.held_out_sentences()``, long and unusual ones included) and counts alignment
failures (``ttszoo.evaluation.alignment``: skips, repeats, no stop).

    python benchmarks/transformer_tts_robustness.py train --variant mha --out /tmp/tts_runs &
    python benchmarks/transformer_tts_robustness.py train --variant sma --out /tmp/tts_runs &
    python benchmarks/transformer_tts_robustness.py evaluate --out /tmp/tts_runs

``train`` builds and preprocesses the demo corpus into ``<out>/records`` when missing. The
validation losses are written to ``<out>/<variant>/validation_history.json``; ``evaluate`` prints
a markdown table and writes docs/figures/transformer_tts_*.png.
"""

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np

FIGURES = Path(__file__).resolve().parents[1] / "docs" / "figures"
MAX_STAY_SECONDS = 1.0


class ValidationHistory(keras.callbacks.Callback):
    """Appends ``{step, seconds, losses}`` after every validation pass to a JSON file."""

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)
        self.started = time.perf_counter()
        self.history = json.loads(self.path.read_text()) if self.path.exists() else []

    def on_test_end(self, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        self.history.append(
            {
                "step": step,
                "seconds": round(time.perf_counter() - self.started, 1),
                "reduction_factor": self.model.reduction_factor,
                "monotonic": self.model.monotonic,
                **{key: float(value) for key, value in (logs or {}).items()},
            }
        )
        self.path.write_text(json.dumps(self.history, indent=1))


def records_dir(out):
    from ttszoo.data import build_demo_corpus, preprocess_corpus

    records = Path(out) / "records"
    if not (records / "features.json").exists():
        corpus = build_demo_corpus(Path(out) / "corpus", progress=False)
        preprocess_corpus(
            corpus, records, num_workers=1, include=(), validation_fraction=0.1, progress=False
        )
    return records


def train_variant(variant, out, params):

    import gin
    from ttszoo.training import parse_gin, train

    keras.utils.set_random_seed(0)
    model_dir = Path(out) / variant
    model_dir.mkdir(parents=True, exist_ok=True)
    parse_gin(
        ["recipes/transformer_tts/demo.gin"], [f'RECORDS_DIR = "{records_dir(out)}"', *params]
    )
    # The recipe's callbacks with their gin settings; the mha run leaves out the SMA switch.
    names = ["ReductionFactorCallback", "DiagonalAttentionForcing"]
    if variant == "sma":
        names.append("MonotonicAttentionSwitch")
    callbacks = [gin.get_configurable(name)() for name in names]
    callbacks.append(ValidationHistory(model_dir / "validation_history.json"))
    started = time.perf_counter()
    logs = train(model_dir=str(model_dir), callbacks=callbacks, verbose=False)
    print(f"{variant}: trained to step {logs['step']} in {time.perf_counter() - started:.0f} s")


def synthesize_held_out(trained):
    """Synthesizes every held-out sentence with the restored model as it is configured."""
    from ttszoo.data import held_out_sentences
    from ttszoo.text import Tokenizer

    tokenizer = Tokenizer.from_config(trained.tokenizer_config)
    results = []
    for sentence in held_out_sentences():
        ids = tokenizer.encode(sentence)
        outputs = trained.model.synthesize(np.asarray([ids], np.int32))
        frames = int(outputs["mel_length"][0])
        steps = -(-frames // trained.model.reduction_factor)
        results.append(
            {
                "sentence": sentence,
                "symbols": len(ids),
                "frames": frames,
                "stopped": bool(outputs["stopped"][0]),
                "alignment": np.asarray(outputs["step_alignment"][0])[: len(ids), :steps],
            }
        )
    return results


def speaking_rate(records):
    """``(mean frames per symbol of the training split, seconds per frame)``, from the lengths
    that preprocessing wrote to ``features.json``."""
    info = json.loads((Path(records) / "features.json").read_text())
    train = info["splits"]["train"]
    audio = info["audio_config"]
    frames_per_symbol = sum(train["mel_lengths"]) / sum(train["text_lengths"])
    return frames_per_symbol, audio["hop_length"] / audio["sample_rate"]


def failure_criteria(symbols, rate, reduction_factor):
    """``alignment_report`` settings for a text of ``symbols`` at ``r`` (in decoder steps).

    The expected length is the training corpus' mean rate; a stopped utterance outside half to
    twice that length fails. No symbol may hold the attention for more than one second
    (``MAX_STAY_SECONDS``): several times the longest pause eSpeak NG makes at punctuation.
    """
    frames_per_symbol, seconds_per_frame = rate
    return {
        "expected_outputs": symbols * frames_per_symbol / reduction_factor,
        "max_stay": MAX_STAY_SECONDS / (seconds_per_frame * reduction_factor),
    }


def teacher_forced_reports(trained, records, rate):
    """Reports and [N, steps] alignments of the teacher-forced validation utterances."""
    from ttszoo.data import make_dataset
    from ttszoo.evaluation.alignment import alignment_report

    model, reports, alignments = trained.model, [], []
    dataset = make_dataset(records, split="validation", batch_size=1, num_buckets=1)
    for batch in dataset:
        outputs = model({key: batch[key] for key in ("text", "mel", "mel_length")})
        symbols = int(batch["text_length"][0])
        steps = -(-int(batch["mel_length"][0]) // model.reduction_factor)
        alignment = outputs["alignments"][model.alignment_layer][0].numpy()[:steps, :symbols]
        criteria = failure_criteria(symbols, rate, model.reduction_factor)
        reports.append(alignment_report(alignment.T, stopped=True, **criteria))
        alignments.append(alignment.T)
    return reports, alignments


def plot_alignments(panels, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(
        len(panels), len(panels[0]), figsize=(4 * len(panels[0]), 2.6 * len(panels))
    )
    axes = np.atleast_2d(axes)
    for row, panel_row in enumerate(panels):
        for column, (title, alignment) in enumerate(panel_row):
            axis = axes[row, column]
            axis.imshow(alignment, origin="lower", aspect="auto", interpolation="nearest")
            axis.set_title(title, fontsize=8)
            axis.set_xlabel("decoder step")
            axis.set_ylabel("symbol")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def plot_history(histories, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3.2))
    for variant, history in histories.items():
        steps = [entry["step"] for entry in history]
        axis.plot(steps, [entry["mel_l1"] for entry in history], marker="o", label=variant)
    axis.set_xlabel("training step")
    axis.set_ylabel("validation mel L1 (after postnet)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def evaluate(out):
    """Held-out synthesis (soft SMA, and hard SMA for the sma model) and teacher forcing."""
    from ttszoo.evaluation.alignment import alignment_report, failure_rates
    from ttszoo.training.loading import load_trained_model

    histories, rows, forced_rows, panels, sentences = {}, [], [], [], {}
    rate = speaking_rate(Path(out) / "records")
    print(f"training split: {rate[0]:.2f} frames per symbol, {rate[1] * 1000:.1f} ms per frame")
    for variant in ("mha", "sma"):
        model_dir = Path(out) / variant
        histories[variant] = json.loads((model_dir / "validation_history.json").read_text())
        trained = load_trained_model(model_dir)
        r = trained.model.reduction_factor
        forced_reports, forced_alignments = teacher_forced_reports(
            trained, Path(out) / "records", rate
        )
        forced = failure_rates(forced_reports)
        forced_rows.append(
            f"| {variant} | {forced['failed']:.0%} | {forced['focus_rate']:.2f} | "
            f"{forced['diagonality']:.2f} |"
        )
        first, last = histories[variant][0], histories[variant][-1]
        for hard in (False, True) if variant == "sma" else (False,):
            name = f"{variant}, hard" if hard else variant
            trained.model.hard_inference = hard
            results = synthesize_held_out(trained)
            reports = [
                alignment_report(
                    result["alignment"],
                    result["stopped"],
                    **failure_criteria(result["symbols"], rate, r),
                )
                for result in results
            ]
            rates = failure_rates(reports)
            rows.append(
                f"| {name} | {trained.step} | r={r}, SMA {'on' if trained.model.monotonic else 'off'}"
                f"{', hard' if hard else ''} | "
                f"{first['mel_l1']:.3f} (step {first['step']}) -> {last['mel_l1']:.3f} | "
                f"{rates['skip']:.0%} | {rates['repeat']:.0%} | {rates['no_stop']:.0%} | "
                f"**{rates['failed']:.0%}** | {rates['focus_rate']:.2f} | "
                f"{rates['diagonality']:.2f} |"
            )
            sentences[name] = []
            for result, report in zip(results, reports, strict=True):
                flags = [key for key in ("skip", "repeat", "no_stop") if report[key]]
                sentences[name].append(
                    {"sentence": result["sentence"], "frames": result["frames"], "flags": flags}
                )
                print(
                    f"{name} | {result['symbols']:3d} symbols | {result['frames']:4d} frames | "
                    f"{','.join(flags) or 'ok':16s} | {result['sentence'][:60]}"
                )
            if hard:
                continue
            longest = sorted(range(len(results)), key=lambda i: -results[i]["symbols"])[:2]
            panels.append(
                [(f"{name}: teacher-forced validation utterance", forced_alignments[0])]
                + [
                    (
                        f"{name}: {results[i]['symbols']} symbols, "
                        f"{'stopped' if results[i]['stopped'] else 'no stop'}",
                        results[i]["alignment"],
                    )
                    for i in (0, *longest)
                ]
            )
    print()
    print(
        "| attention | steps | decoding | validation mel L1 | skip | repeat | no stop | "
        "failed | focus rate | diagonality |"
    )
    print("|---|---:|---|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print()
    print("| attention | teacher-forced validation: failed | focus rate | diagonality |")
    print("|---|---:|---:|---:|")
    print("\n".join(forced_rows))
    (Path(out) / "held_out_results.json").write_text(json.dumps(sentences, indent=1))
    FIGURES.mkdir(parents=True, exist_ok=True)
    plot_alignments(panels, FIGURES / "transformer_tts_alignments.png")
    plot_history(histories, FIGURES / "transformer_tts_validation.png")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("train", "evaluate"))
    parser.add_argument("--variant", choices=("mha", "sma"))
    parser.add_argument("--out", default="/tmp/transformer_tts_runs")
    parser.add_argument(
        "--gin_param", action="append", default=[], help="extra bindings, e.g. 'train.steps = 800'"
    )
    args = parser.parse_args()
    if args.command == "train":
        if args.variant is None:
            parser.error("train needs --variant mha or --variant sma")
        import tensorflow as tf

        # One core per variant, so the MHA and SMA runs can train side by side. Only here, in
        # the benchmark's own fresh process: TensorFlow refuses it once its runtime has started.
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        train_variant(args.variant, args.out, args.gin_param)
    else:
        evaluate(args.out)


if __name__ == "__main__":
    main()
