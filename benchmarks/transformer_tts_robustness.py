"""Transformer TTS robustness: plain multihead attention against stepwise monotonic attention,
and the reduction-factor schedule against a fixed r, over several seeds (docs/transformer_tts.md).

One command trains every missing (variant, seed) run on the large demo corpus at a stated
budget, evaluates each trained model with ``ttszoo.evaluation.Evaluator`` on the held-out
sentences (``held_out_sentences()`` + ``held_out_long_sentences()``, against eSpeak NG's own
renderings of them), and writes the robustness table:

    python benchmarks/transformer_tts_robustness.py run --out runs/tts_robustness \\
        --variants mha sma sma_ss sma_r1 sma_r2 --seeds 0 1 2 --cpu_minutes 120 --jobs 2

Run it again and it skips what is done: a run whose ``training.json`` records the same budget
is not trained again (an interrupted one resumes from its last checkpoint, with the CPU time it
had used), and an evaluation of the same training step is not repeated.

Variants (``VARIANTS``): ``mha`` never switches SMA on (gin/recipes/transformer_tts/
large_mha.gin); ``sma`` (large.gin) is decoded twice, with soft and with hard SMA
(``TransformerTTS.hard_inference``); ``sma_ss`` adds scheduled sampling from the SMA switch on
(``ScheduledSampling``); ``sma_r1`` and ``sma_r2`` replace the r schedule with a fixed r, and
``sma_r2_ss`` combines the fixed r = 2 with scheduled sampling; ``sma_ss_clock`` is ``sma_ss``
with the decoder's silence clock (``TransformerTTS.silence_clock_frames``). The
budget is ``--steps`` (default: the recipe's ``train.steps``) and, optionally, ``--cpu_minutes``: the run stops once its process has used that much CPU time (all of it:
start-up, tracing, validation), whichever comes first.

``--out`` holds ``records/`` (the corpus, preprocessed into eSpeak NG phonemes, or characters
with ``--symbols characters``), ``references/`` (the eSpeak NG
renderings), ``sentences.txt``, ``runs/<variant>/seed<k>/`` (``model/``, ``training.json``,
``diagonality.json``, ``eval_<decoding>/report.{md,json}``, ``evaluation.json``) and the table,
``robustness.md`` and ``robustness.json``. ``figure`` draws the alignments of a few sentences
for every table row of one seed, each titled with its scores from the evaluation report.

Steps until diagonal: at every validation pass the model, as it is at that step (r, SMA
switch), runs teacher-forced on the first ``DIAGONAL_UTTERANCES`` validation utterances; the
diagonality of its alignment layer's attention (the share of weight within
``DIAGONAL_BAND`` of the diagonal, ``ttszoo.evaluation.diagonality``) is averaged over them.
The first validation step at which the mean reaches ``DIAGONAL_THRESHOLD`` is the run's
"steps until diagonal" (``ttszoo.evaluation.robustness``). Its resolution is the recipe's
``train.validate_every``. The same pass records the text-reliance probes
(``teacher_forced_probe``): the L1 with the true texts, with each text reversed, and of
copying the previous frame; the table's "text reliance" is the reversed texts' excess.

``probe`` asks of one trained run whether it reads (docs/transformer_tts.md, "Why the models do
not read"): those teacher-forced L1s, a linear probe of each encoder stage for the characters
(``encoder_symbol_probe``), and the free-running syntheses of validation texts against their
recorded mels (``free_running_probe``). It writes ``probe.json`` into the run directory.
"""

import argparse
import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np

from ttszoo.evaluation.robustness import (
    DIAGONAL_BAND,
    DIAGONAL_THRESHOLD,
    aggregate,
    markdown_table,
    run_scores,
    steps_until_diagonal,
    text_reliance,
)

DIAGONAL_UTTERANCES = 16
# The recipes' text symbols: the decoder learns to read phonemes far sooner than characters
# (docs/transformer_tts.md, "A recipe that reads"). Characters need VOCAB_SIZE = 40.
SYMBOLS = ("phonemes", "characters")
ENCODER_PROBE_TEXTS = 100


@dataclasses.dataclass(frozen=True)
class Variant:
    """A training variant: its recipe, extra gin bindings and how it is decoded.

    ``decodings``: ``(name, hard_inference)`` pairs; each is one row of the table.
    """

    description: str
    gin_file: str
    bindings: tuple = ()
    decodings: tuple = (("", False),)


VARIANTS = {
    "mha": Variant(
        "plain multihead attention, r schedule", "recipes/transformer_tts/large_mha.gin"
    ),
    "sma": Variant(
        "SMA, r schedule",
        "recipes/transformer_tts/large.gin",
        decodings=(("soft", False), ("hard", True)),
    ),
    "sma_ss": Variant(
        "SMA, r schedule, scheduled sampling 0.5",
        "recipes/transformer_tts/large.gin",
        ("SCHEDULED_SAMPLING_RATE = 0.5",),
        decodings=(("soft", False), ("hard", True)),
    ),
    "sma_ss_clock": Variant(
        "SMA, r schedule, scheduled sampling 0.5, silence clock",
        "recipes/transformer_tts/large.gin",
        ("SCHEDULED_SAMPLING_RATE = 0.5", "TransformerTTS.silence_clock_frames = 32"),
        decodings=(("soft", False), ("hard", True)),
    ),
    "sma_r1": Variant(
        "SMA, fixed r = 1", "recipes/transformer_tts/large.gin", ("REDUCTION_SCHEDULE = [[0, 1]]",)
    ),
    "sma_r2": Variant(
        "SMA, fixed r = 2", "recipes/transformer_tts/large.gin", ("REDUCTION_SCHEDULE = [[0, 2]]",)
    ),
    "sma_r2_ss": Variant(
        "SMA, fixed r = 2, scheduled sampling 0.5",
        "recipes/transformer_tts/large.gin",
        ("REDUCTION_SCHEDULE = [[0, 2]]", "SCHEDULED_SAMPLING_RATE = 0.5"),
    ),
}


def run_dir(out, variant, seed):
    return Path(out) / "runs" / variant / f"seed{seed}"


def read_json(path, default=None):
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else default


def write_json(path, value):
    Path(path).write_text(json.dumps(value, indent=1) + "\n")


# Training (one run per process: the thread settings and gin are process-wide).


class CpuBudget(keras.callbacks.Callback):
    """Stops training once the run has used ``limit_seconds`` of CPU time (None: no limit).

    Counts this process's CPU time from the callback's creation on, plus ``earlier`` seconds
    (what earlier processes of the same run used, when it resumes); records the total in
    ``status_path`` (``cpu_seconds``) at every validation and when training ends.
    """

    def __init__(self, limit_seconds, status_path, budget, earlier=0.0):
        super().__init__()
        self.limit = limit_seconds
        self.status_path = Path(status_path)
        self.budget = budget
        self.earlier = earlier
        self.started = time.process_time()

    def cpu_seconds(self):
        return self.earlier + time.process_time() - self.started

    def record(self, **fields):
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        status = {"budget": self.budget, "step": step, "cpu_seconds": round(self.cpu_seconds(), 1)}
        write_json(self.status_path, {**status, "done": False, **fields})

    def on_train_batch_end(self, batch, logs=None):
        if self.limit is not None and self.cpu_seconds() >= self.limit:
            self.model.stop_training = True

    def on_test_end(self, logs=None):
        self.record()


def validation_utterances(records_dir, count):
    """The first ``count`` validation utterances of ``records_dir``, one per batch, in order:
    every probe of a run reads the same ones. Uncached: a partial pass over a cached record file
    logs a warning at every call."""
    from ttszoo.data import make_dataset

    dataset = make_dataset(
        records_dir, split="validation", batch_size=1, num_buckets=1, cache=False
    )
    return dataset.take(count)


def teacher_forced_probe(model, records_dir, count):
    """The model, teacher-forced with its current r and SMA switch, on the first ``count``
    validation utterances.

    Returns ``(alignments, l1)``: the alignment layer's ``[N, steps]`` attention per utterance,
    and the mel L1 (after the postnet, real frames) with the true texts (``"text"``), with each
    text reversed (``"reversed_text"``) and of copying the decoder's input frame
    (``"previous_frame"``), pooled over the utterances (``ttszoo.evaluation.text_reliance``).
    """
    from ttszoo.evaluation import previous_frame_l1, reversed_texts

    alignments, errors, frames = [], {"text": 0.0, "reversed_text": 0.0}, 0
    copy_errors = 0.0
    for batch in validation_utterances(records_dir, count):
        symbols, length = int(batch["text_length"][0]), int(batch["mel_length"][0])
        mel = batch["mel"][0, :length].numpy()
        texts = {"text": batch["text"], "reversed_text": reversed_texts(batch["text"], [symbols])}
        for name, text in texts.items():
            outputs = model({"text": text, "mel": batch["mel"], "mel_length": batch["mel_length"]})
            errors[name] += np.abs(outputs["mel"][0, :length].numpy() - mel).sum()
            if name == "text":
                steps = -(-length // model.reduction_factor)
                alignment = outputs["alignments"][model.alignment_layer][0].numpy()
                alignments.append(alignment[:steps, :symbols].T)
        copy_errors += mel.size * previous_frame_l1(
            mel[None], [length], model.reduction_factor, model.go_value
        )
        frames += mel.size
    l1 = {name: float(total / frames) for name, total in errors.items()}
    l1["previous_frame"] = float(copy_errors / frames)
    return alignments, l1


def free_running_probe(model, records_dir, count):
    """The model synthesizing the first ``count`` validation utterances' texts on its own,
    compared with their recorded mels (no vocoder, no reference rendering).

    Returns a dict of means over the utterances: ``dtw_l1_own`` (the mel L1 along the DTW path
    to the utterance's own mel), ``dtw_l1_other`` (to the next utterance's mel) and, for scale,
    ``dtw_l1_recorded_other`` (a recorded mel to the next one); ``frame_change`` and
    ``recorded_frame_change`` (mean absolute change from one frame to the next: a static output
    changes little); ``length_ratio`` (median synthesized over recorded frames) and ``stopped``
    (share ended by the stop token).
    """
    from ttszoo.evaluation import dtw, l1_costs

    recorded, synthesized, stopped = [], [], []
    for batch in validation_utterances(records_dir, count):
        symbols, length = int(batch["text_length"][0]), int(batch["mel_length"][0])
        outputs = model.synthesize(batch["text"][:, :symbols])
        recorded.append(batch["mel"][0, :length].numpy())
        synthesized.append(outputs["mel"][0, : int(outputs["mel_length"][0])].numpy())
        stopped.append(bool(outputs["stopped"][0]))
    others = [*recorded[1:], recorded[0]]

    def mean_distance(firsts, seconds):
        pairs = zip(firsts, seconds, strict=True)
        return float(np.mean([dtw(l1_costs(a, b)).mean for a, b in pairs]))

    def change(mel):  # a one-frame output does not change
        return float(np.abs(np.diff(mel, axis=0)).mean()) if len(mel) > 1 else 0.0

    ratios = [len(s) / len(r) for s, r in zip(synthesized, recorded, strict=True)]
    return {
        "utterances": len(recorded),
        "dtw_l1_own": mean_distance(synthesized, recorded),
        "dtw_l1_other": mean_distance(synthesized, others),
        "dtw_l1_recorded_other": mean_distance(recorded, others),
        "frame_change": float(np.mean([change(mel) for mel in synthesized])),
        "recorded_frame_change": float(np.mean([change(mel) for mel in recorded])),
        "length_ratio": float(np.median(ratios)),
        "stopped": float(np.mean(stopped)),
    }


def encoder_symbol_probe(model, records_dir, count=ENCODER_PROBE_TEXTS):
    """For each stage of the encoder (``TransformerTTS.encoder_stages``), the accuracy of a
    linear probe that reads each position's symbol from it (``symbol_probe_accuracy``), over
    the first ``count`` validation texts; ``"majority"``: always the most frequent symbol."""
    from ttszoo.evaluation import symbol_probe_accuracy

    features, symbols = {}, []
    for batch in validation_utterances(records_dir, count):
        text = batch["text"][:, : int(batch["text_length"][0])]
        stages, _ = model.encoder_stages(text)
        for name, value in stages.items():
            features.setdefault(name, []).append(value[0].numpy())
        symbols.append(text[0].numpy())
    symbols = np.concatenate(symbols)
    result = {}
    for name, values in features.items():
        result[name], result["majority"] = symbol_probe_accuracy(np.concatenate(values), symbols)
    return result


def mel_figure(model, records_dir, title, path):
    """The first validation utterance's recorded mel beside the model's teacher-forced and
    free-running mels (its current decoding), one panel each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    batch = next(iter(validation_utterances(records_dir, 1)))
    symbols, length = int(batch["text_length"][0]), int(batch["mel_length"][0])
    teacher_forced = model({key: batch[key] for key in ("text", "mel", "mel_length")})["mel"]
    synthesis = model.synthesize(batch["text"][:, :symbols])
    mels = {
        "recorded": batch["mel"][0, :length],
        "teacher-forced": teacher_forced[0, :length],
        "free-running": synthesis["mel"][0, : int(synthesis["mel_length"][0])],
    }
    figure, axes = plt.subplots(1, 3, figsize=(12, 2.8), sharey=True)
    for axis, (name, mel) in zip(axes, mels.items(), strict=True):
        axis.imshow(np.transpose(mel), origin="lower", aspect="auto", vmin=0, vmax=1)
        axis.set(title=f"{title}: {name}", xlabel="frame")
    axes[0].set_ylabel("mel channel")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    print(f"Wrote {path}.")


def probe_run(out, variant, seed, count, prenet_noise_seed=None, figure=None):
    """Both probes on one trained run (its last checkpoint, each of its decodings); prints them
    and writes ``probe.json`` (``probe_noise<seed>.json`` with the prenet's inference noise)
    into the run directory; with ``figure``, also ``mel_figure`` (first decoding)."""
    from ttszoo.evaluation import attention_spread, focus_rate
    from ttszoo.training.loading import load_trained_model

    directory = run_dir(out, variant, seed)
    records = Path(out) / "records"
    trained = load_trained_model(directory / "model")
    model = trained.model
    model.prenet_noise_seed = prenet_noise_seed
    alignments, l1 = teacher_forced_probe(model, records, count)
    result = {
        "step": trained.step,
        "prenet_noise_seed": prenet_noise_seed,
        "teacher_forced": l1,
        "teacher_forced_attention": {
            "focus_rate": float(np.mean([focus_rate(a) for a in alignments])),
            "spread_symbols": float(np.mean([attention_spread(a) for a in alignments])),
        },
        "encoder_symbol_accuracy": encoder_symbol_probe(model, records),
    }
    for name, hard in VARIANTS[variant].decodings:
        model.hard_inference = hard
        result[f"free_running_{name or 'default'}"] = free_running_probe(model, records, count)
    if figure is not None:
        model.hard_inference = VARIANTS[variant].decodings[0][1]
        mel_figure(model, records, f"{variant}, step {trained.step}", figure)
    noise = "" if prenet_noise_seed is None else f"_noise{prenet_noise_seed}"
    write_json(directory / f"probe{noise}.json", result)
    print(json.dumps(result, indent=1))


class DiagonalityHistory(keras.callbacks.Callback):
    """After every validation pass, appends the step, r, SMA switch, validation losses, the
    mean teacher-forced diagonality (``DIAGONAL_BAND``) and the text-reliance L1s of
    ``teacher_forced_probe`` (``tf_l1_*``) to a JSON file."""

    def __init__(self, path, records_dir):
        super().__init__()
        self.path = Path(path)
        self.records_dir = records_dir
        self.history = read_json(self.path, [])

    def on_test_end(self, logs=None):
        from ttszoo.evaluation import diagonality

        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        alignments, l1 = teacher_forced_probe(self.model, self.records_dir, DIAGONAL_UTTERANCES)
        self.history = [entry for entry in self.history if entry["step"] < step]  # a resumed run
        self.history.append(
            {
                "step": step,
                "reduction_factor": self.model.reduction_factor,
                "monotonic": self.model.monotonic,
                "diagonality": float(np.mean([diagonality(a, DIAGONAL_BAND) for a in alignments])),
                **{f"tf_l1_{name}": value for name, value in l1.items()},
                "process_cpu_seconds": round(time.process_time(), 1),
                **{key: float(value) for key, value in (logs or {}).items()},
            }
        )
        write_json(self.path, self.history)


def train_run(out, variant, seed, steps, cpu_minutes, params, symbols=SYMBOLS[0]):
    """Trains (or resumes) one run; writes ``training.json`` with ``done: true`` at the end."""
    import gin
    from ttszoo.training import parse_gin, train

    directory = run_dir(out, variant, seed)
    directory.mkdir(parents=True, exist_ok=True)
    records = prepare_records(out, symbols)
    spec = VARIANTS[variant]
    keras.utils.set_random_seed(seed)
    bindings = [f'RECORDS_DIR = "{records}"', f"ttszoo.data.make_dataset.seed = {seed}"]
    # The variant's own bindings last: they say what the variant is.
    bindings += [*([f"train.steps = {steps}"] if steps else []), *params, *spec.bindings]
    parse_gin([spec.gin_file], bindings)
    # The budget as asked for (steps None: the recipe's), which a later `run` compares.
    budget = {"steps": steps, "cpu_minutes": cpu_minutes, "gin_params": list(params)}
    steps = gin.query_parameter("train.steps")
    limit = None if cpu_minutes is None else 60 * cpu_minutes
    status = directory / "training.json"
    # A resumed run (its model directory exists) keeps counting the CPU time it has used.
    earlier = (
        read_json(status, {}).get("cpu_seconds", 0.0) if (directory / "model").exists() else 0.0
    )
    cpu = CpuBudget(limit, status, budget, earlier)
    history = DiagonalityHistory(directory / "diagonality.json", records)
    started = time.perf_counter()
    # The recipe's callbacks (r schedule, SMA switch, forcing) as gin builds them, and ours.
    recipe = [ref.scoped_configurable_fn() for ref in gin.query_parameter("train.callbacks")]
    logs = train(
        model_dir=str(directory / "model"), callbacks=[*recipe, cpu, history], verbose=False
    )
    stopped_by = "steps" if logs["step"] >= steps else "cpu budget"
    cpu.record(done=True, stopped_by=stopped_by, train_steps=steps)
    print(
        f"{variant} seed {seed}: step {logs['step']} ({stopped_by}), "
        f"{cpu.cpu_seconds() / 60:.1f} CPU minutes, {time.perf_counter() - started:.0f} s wall"
    )


# Evaluation.


def held_out(max_sentences=None):
    """``held_out_sentences() + held_out_long_sentences()``, or ``max_sentences`` of them evenly
    spaced over that list (for a quick check of the pipeline; the table needs them all)."""
    from ttszoo.data import held_out_long_sentences, held_out_sentences

    sentences = held_out_sentences() + held_out_long_sentences()
    if max_sentences is None or max_sentences >= len(sentences):
        return sentences
    if max_sentences < 2:
        raise SystemExit("--max_sentences must be at least 2 (retrieval compares sentences).")
    picks = np.linspace(0, len(sentences) - 1, max_sentences).round().astype(int)
    return [sentences[index] for index in picks]


def sentences_and_references(out, max_sentences=None):
    """The held-out sentences (written to ``sentences.txt``) and their eSpeak NG references."""
    from ttszoo.data.demo_corpus import VOICE
    from ttszoo.evaluation.references import render_references, sentence_file_names

    sentences = held_out(max_sentences)
    listing = Path(out) / "sentences.txt"
    folder = Path(out) / "references"
    paths = [folder / f"{name}.wav" for name in sentence_file_names(len(sentences))]
    same = listing.exists() and listing.read_text(encoding="utf-8").splitlines() == sentences
    if not (same and all(path.exists() for path in paths)):
        paths = render_references(sentences, folder, VOICE, progress=False)
        listing.write_text("\n".join(sentences) + "\n", encoding="utf-8")
    return sentences, paths


def evaluate_run(out, variant, seed, plots, max_sentences=None, prenet_noise_seed=None):
    """Evaluates one trained run with each of its decodings; writes ``evaluation.json``.

    With ``prenet_noise_seed`` the decodings keep the prenet's dropout on and go to
    ``eval_<decoding>_noise<seed>``, outside the table (``evaluation.json`` is left alone).
    """
    from ttszoo import Synthesizer
    from ttszoo.evaluation import Evaluator

    directory = run_dir(out, variant, seed)
    sentences, references = sentences_and_references(out, max_sentences)
    synthesizer = Synthesizer.from_model_dirs(directory / "model")
    model = synthesizer.acoustic.model
    model.prenet_noise_seed = prenet_noise_seed
    noise = "" if prenet_noise_seed is None else f"_noise{prenet_noise_seed}"
    for name, hard in VARIANTS[variant].decodings:
        model.hard_inference = hard
        evaluator = Evaluator(synthesizer, plots=plots, progress=False)
        evaluator.evaluate(sentences, references, directory / f"eval_{name or 'default'}{noise}")
    if prenet_noise_seed is None:
        write_json(
            directory / "evaluation.json",
            {"step": synthesizer.acoustic.step, "sentences": sentences},
        )


# The table.


def row_label(variant, decoding):
    return f"{variant} ({decoding})" if decoding else variant


def collect(out, variants, seeds):
    """Per table row, the per-seed scores of the finished, evaluated runs (others left out)."""
    rows = []
    for variant in variants:
        for decoding, _ in VARIANTS[variant].decodings:
            seed_scores = []
            for seed in seeds:
                directory = run_dir(out, variant, seed)
                report = read_json(directory / f"eval_{decoding or 'default'}" / "report.json")
                training = read_json(directory / "training.json")
                if report is None or not (training or {}).get("done"):
                    continue
                history = read_json(directory / "diagonality.json", [])
                seed_scores.append(
                    {
                        **run_scores(report["sentences"]),
                        "seed": seed,
                        "steps": training["step"],
                        "cpu_minutes": training["cpu_seconds"] / 60,
                        "diagonal_at": steps_until_diagonal(history),
                        "text_reliance": text_reliance(history),
                    }
                )
            if seed_scores:
                rows.append(
                    {
                        "variant": variant,
                        "decoding": decoding,
                        "description": VARIANTS[variant].description,
                        "seeds": seed_scores,
                        "summary": aggregate(
                            [{k: v for k, v in s.items() if k != "seed"} for s in seed_scores]
                        ),
                    }
                )
    return rows


TABLE_EXTRA_COLUMNS = (
    ("steps", "steps", "{:.0f}"),
    ("cpu_minutes", "CPU min", "{:.0f}"),
    ("diagonal_at", "steps until diagonal", "{:.0f}"),
    ("text_reliance", "text reliance", "{:.0%}"),
)


def write_table(out, variants, seeds):
    """Writes ``robustness.md`` and ``robustness.json`` from the evaluated runs; returns the md."""
    rows = collect(out, variants, seeds)
    if not rows:
        raise SystemExit(f"No evaluated runs under {out}/runs yet.")
    table = markdown_table(
        [(row_label(row["variant"], row["decoding"]), row["summary"]) for row in rows],
        extra_columns=TABLE_EXTRA_COLUMNS,
    )
    definitions = {
        "diagonal": f"first validation step with mean teacher-forced diagonality (band "
        f"{DIAGONAL_BAND}) over the first {DIAGONAL_UTTERANCES} validation utterances "
        f">= {DIAGONAL_THRESHOLD}",
        "cells": "mean over seeds ± sample standard deviation",
    }
    document = {"definitions": definitions, "rows": rows}
    write_json(Path(out) / "robustness.json", document)
    markdown = "\n".join(
        [
            "# Transformer TTS robustness",
            "",
            f"Held-out sentences: {rows[0]['seeds'][0]['sentences']} "
            f"({Path(out) / 'sentences.txt'}); cells: {definitions['cells']}.",
            f"Steps until diagonal: {definitions['diagonal']}.",
            "",
            table,
            "",
        ]
    )
    (Path(out) / "robustness.md").write_text(markdown)
    return markdown


# The alignment figure.


def panel_title(row):
    """A sentence's scores from its report row: characters, failure classes, d_rel (MCD)."""
    from ttszoo.evaluation.robustness import FAILURE_CLASSES, failure_classes

    classes = failure_classes(row)
    failed = ", ".join(name.replace("_", " ") for name in FAILURE_CLASSES if classes[name])
    d_rel = row["mcd_d_rel"]
    d_rel_text = "n/a" if d_rel is None or np.isnan(d_rel) else f"{d_rel:.2f}"
    return f"{row['characters']} chars: {failed or 'no failure'}, d_rel {d_rel_text}"


def alignment_figure(out, variants, seed, picks, path):
    """One alignment panel per (table row of ``seed``, picked sentence), titled with that
    sentence's failure classes and d_rel from the run's own evaluation report.

    The sentences are decoded again (``Evaluator.synthesize``, as the evaluation did); a
    decoding whose length differs from the report's is refused, so a title always belongs to
    its picture.
    """
    import tempfile

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ttszoo import Synthesizer
    from ttszoo.evaluation import Evaluator

    rows = [(v, d, hard) for v in variants for d, hard in VARIANTS[v].decodings]
    figure, axes = plt.subplots(
        len(rows), len(picks), figsize=(4 * len(picks), 2.6 * len(rows)), squeeze=False
    )
    synthesizers = {}
    with tempfile.TemporaryDirectory() as scratch:
        for axes_row, (variant, decoding, hard) in zip(axes, rows, strict=True):
            directory = run_dir(out, variant, seed)
            report = read_json(directory / f"eval_{decoding or 'default'}" / "report.json")
            if report is None:
                raise SystemExit(
                    f"{directory} has no evaluation of {row_label(variant, decoding)}."
                )
            if variant not in synthesizers:
                synthesizers[variant] = Synthesizer.from_model_dirs(directory / "model")
            synthesizer = synthesizers[variant]
            synthesizer.acoustic.model.hard_inference = hard
            evaluator = Evaluator(synthesizer, plots=False, progress=False)
            for axis, pick in zip(axes_row, picks, strict=True):
                row = report["sentences"][pick]
                synthesis = evaluator.synthesize(row["text"], Path(scratch) / "sentence.wav")
                if synthesis.alignment.shape[1] != row["decoder_steps"]:
                    raise SystemExit(
                        f"{row_label(variant, decoding)}, sentence {pick}: decoded to "
                        f"{synthesis.alignment.shape[1]} steps, the report says "
                        f"{row['decoder_steps']}."
                    )
                axis.imshow(
                    synthesis.alignment, origin="lower", aspect="auto", interpolation="none"
                )
                axis.set_title(f"{row_label(variant, decoding)}\n{panel_title(row)}", fontsize=8)
                axis.set(xlabel="decoder step", ylabel="symbol")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    print(f"Wrote {path}.")


# The driver.


def prepare_records(out, symbols, corpus_dir=None):
    """Preprocesses the large demo corpus (built into ``out/corpus`` unless ``corpus_dir`` holds
    it) into ``out/records`` with ``symbols`` (one of ``SYMBOLS``), once; refuses records made
    with other symbols."""
    from ttszoo.data import build_demo_corpus, preprocess_corpus
    from ttszoo.text import Tokenizer

    records = Path(out) / "records"
    features = read_json(records / "features.json")
    if features is None:
        corpus = build_demo_corpus(corpus_dir or Path(out) / "corpus", size="large", progress=False)
        preprocess_corpus(
            corpus,
            records,
            tokenizer=Tokenizer(symbols=symbols),
            num_workers=1,
            include=(),
            validation_fraction=0.05,
            progress=False,
        )
    elif features["tokenizer"]["symbols"] != symbols:
        found = features["tokenizer"]["symbols"]
        raise SystemExit(
            f"{records} holds records of {found}, not {symbols}. Give --symbols {found} to use "
            f"them (the recipes read phonemes; characters need --gin_param 'VOCAB_SIZE = 40'), "
            f"or remove {records} to have them made again, or give another --out."
        )
    return records


def trained(out, variant, seed, budget):
    status = read_json(run_dir(out, variant, seed) / "training.json", {})
    return status.get("done", False) and status.get("budget") == budget


def evaluated(out, variant, seed, sentences):
    """Whether the run's last training step was evaluated on these sentences."""
    directory = run_dir(out, variant, seed)
    done = read_json(directory / "evaluation.json")
    step = read_json(directory / "training.json")["step"]
    return done is not None and done["step"] == step and done["sentences"] == sentences


def run_jobs(commands, jobs):
    """Runs the command lines, at most ``jobs`` at a time; raises if one fails."""
    pending, running = list(commands), []
    while pending or running:
        while pending and len(running) < jobs:
            command = pending.pop(0)
            print("$ " + " ".join(command), flush=True)
            running.append((command, subprocess.Popen(command)))
        time.sleep(1)
        for command, process in list(running):
            if process.poll() is not None:
                running.remove((command, process))
                if process.returncode:
                    raise SystemExit(f"Failed ({process.returncode}): {' '.join(command)}")


def run_all(args):
    """Prepares the data, trains and evaluates what is missing, and writes the table."""
    budget = {"steps": args.steps, "cpu_minutes": args.cpu_minutes, "gin_params": args.gin_param}
    prepare_records(args.out, args.symbols, args.corpus_dir)
    sentences, _ = sentences_and_references(args.out, args.max_sentences)
    me = [sys.executable, str(Path(__file__).resolve()), "--out", str(args.out)]
    common = ["--threads", str(args.threads), "--symbols", args.symbols]
    if args.steps:
        common += ["--steps", str(args.steps)]
    if args.cpu_minutes is not None:
        common += ["--cpu_minutes", str(args.cpu_minutes)]
    for param in args.gin_param:
        common += ["--gin_param", param]
    pairs = [(variant, seed) for seed in args.seeds for variant in args.variants]
    train_commands = [
        [*me, "train", "--variant", v, "--seed", str(s), *common]
        for v, s in pairs
        if not trained(args.out, v, s, budget)
    ]
    run_jobs(train_commands, args.jobs)
    options = ["--threads", str(args.threads)] + (["--plots"] if args.plots else [])
    if args.max_sentences is not None:
        options += ["--max_sentences", str(args.max_sentences)]
    evaluate_commands = [
        [*me, "evaluate", "--variant", v, "--seed", str(s), *options]
        for v, s in pairs
        if not evaluated(args.out, v, s, sentences)
    ]
    run_jobs(evaluate_commands, args.jobs)
    print(write_table(args.out, args.variants, args.seeds))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("run", "train", "evaluate", "table", "figure", "probe"))
    parser.add_argument("--out", type=Path, default=Path("runs/tts_robustness"))
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--variant", choices=sorted(VARIANTS), help="train / evaluate: the run")
    parser.add_argument("--seed", type=int, default=0, help="train / evaluate: the run's seed")
    parser.add_argument("--steps", type=int, help="training steps (default: the recipe's)")
    parser.add_argument("--cpu_minutes", type=float, help="stop a run after this CPU time")
    parser.add_argument("--jobs", type=int, default=1, help="runs side by side")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow threads per run")
    parser.add_argument("--corpus_dir", type=Path, help="an already built large demo corpus")
    parser.add_argument(
        "--symbols", choices=SYMBOLS, default=SYMBOLS[0], help="the records' text symbols"
    )
    parser.add_argument("--plots", action="store_true", help="one picture per sentence")
    parser.add_argument(
        "--max_sentences", type=int, help="evaluate on this many held-out sentences (a quick check)"
    )
    parser.add_argument(
        "--gin_param", action="append", default=[], help="extra bindings for every run"
    )
    parser.add_argument(
        "--sentences", nargs="+", type=int, default=[0, 19, 63],
        help="figure: the sentences to show (0-based, in sentences.txt order)",
    )  # fmt: skip
    parser.add_argument(
        "--figure", type=Path, help="figure, probe: the picture to write (needed by figure)"
    )
    parser.add_argument(
        "--utterances", type=int, default=DIAGONAL_UTTERANCES,
        help="probe: validation utterances to synthesize",
    )  # fmt: skip
    parser.add_argument(
        "--prenet_noise_seed",
        type=int,
        help="probe, evaluate: decode with the prenet's inference noise",
    )
    args = parser.parse_args()
    if args.command in ("train", "evaluate", "probe"):
        if args.variant is None:
            parser.error(f"{args.command} needs --variant")
        import tensorflow as tf

        # Only in this fresh process: TensorFlow refuses it once its runtime has started.
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    if args.command == "run":
        run_all(args)
    elif args.command == "train":
        train_run(
            args.out, args.variant, args.seed, args.steps, args.cpu_minutes, args.gin_param,
            args.symbols,
        )  # fmt: skip
    elif args.command == "evaluate":
        evaluate_run(
            args.out, args.variant, args.seed, args.plots, args.max_sentences,
            args.prenet_noise_seed,
        )  # fmt: skip
    elif args.command == "probe":
        probe_run(
            args.out, args.variant, args.seed, args.utterances, args.prenet_noise_seed, args.figure
        )
    elif args.command == "figure":
        if args.figure is None:
            parser.error("figure needs --figure PATH")
        alignment_figure(args.out, args.variants, args.seed, args.sentences, args.figure)
    else:
        print(write_table(args.out, args.variants, args.seeds))


if __name__ == "__main__":
    main()
