"""``ttszoo evaluate``: does a trained acoustic model say the sentences it is given?

    from ttszoo.evaluation import evaluate
    result = evaluate("runs/t2m", "sentences.txt", "eval_out", vocoder="runs/ssrn")
    result["summary"]["all"]["mcd_d_rel"]

Each sentence is synthesized, compared with a reference recording of the same sentence (a
folder of wavs, or eSpeak NG with the demo corpus' settings) and with the other sentences'
references; the model's own alignment is checked for skips, repeats and stalls. The numbers,
the floor, the ceiling and d_rel are explained in docs/evaluation.md.
"""

import dataclasses
import itertools
from pathlib import Path

import numpy as np
from absl import logging
from tqdm import tqdm

from ttszoo.audio import load_wav, save_wav
from ttszoo.data.demo_corpus import VOICE
from ttszoo.errors import InvalidInputError
from ttszoo.evaluation.alignment import alignment_report
from ttszoo.evaluation.dtw import dtw, l1_costs
from ttszoo.evaluation.references import reference_paths, render_references, sentence_file_names
from ttszoo.evaluation.report import (
    METRICS,
    plot_sentence,
    require_matplotlib,
    write_comparison,
    write_report,
)
from ttszoo.evaluation.scoring import ceilings, length_bucket, relative_distance, retrieved
from ttszoo.evaluation.spectral import DEFAULT_ORDER, mcd_costs, utterance_features
from ttszoo.synthesis import Synthesizer, read_lines

FORCING_CHOICES = ("on", "off", "both")
"""``evaluate(forcing=...)``: the model's attention forcing as configured, off, or both."""

_COSTS = {"mcd": lambda a, b: mcd_costs(a.cepstra, b.cepstra),
          "logmel_l1": lambda a, b: l1_costs(a.log_mel, b.log_mel)}  # fmt: skip


def distance(metric, features, other):
    """The DTW-aligned distance ``metric`` (``"mcd"`` or ``"logmel_l1"``) of two utterances."""
    return dtw(_COSTS[metric](features, other)).mean


def score_distances(syntheses, references, floors, progress=False):
    """Distances of a set of sentences, per metric of ``report.METRICS``.

    Args:
      syntheses, references, floors: ``UtteranceFeatures`` per sentence: the synthesis, its
        reference, and the reference vocoded (the floor's signal).
      progress: show a progress bar over the synthesis-reference pairs.

    Returns:
      ``{metric: {"distance", "floor", "ceiling", "d_rel": float [S], "retrieved": bool [S],
      "matrix": [S, S]}}``, ``matrix[i, j]`` the distance of synthesis i to reference j.
    """
    count = len(syntheses)
    matrices = {metric: np.zeros((count, count)) for metric in METRICS}
    pairs = list(itertools.product(range(count), range(count)))
    for i, j in tqdm(pairs, desc="Comparing", unit="pair", disable=not progress):
        for metric in METRICS:
            matrices[metric][i, j] = distance(metric, syntheses[i], references[j])
    scores = {}
    for metric, matrix in matrices.items():
        own = np.diag(matrix)
        floor = np.array([distance(metric, f, r) for f, r in zip(floors, references, strict=True)])
        ceiling = ceilings(matrix)
        scores[metric] = {
            "distance": own,
            "floor": floor,
            "ceiling": ceiling,
            "d_rel": relative_distance(own, floor, ceiling),
            "retrieved": retrieved(matrix),
            "matrix": matrix,
        }
    return scores


@dataclasses.dataclass
class _Synthesis:
    """What one sentence's synthesis left for the scores: features, alignment, stop, forcing."""

    features: object
    alignment: np.ndarray
    forced: np.ndarray
    stopped: bool | None


class Evaluator:
    """Scores a ``Synthesizer`` on sentences with reference recordings.

    Args:
      synthesizer: the ``ttszoo.Synthesizer`` to evaluate.
      order: mel-cepstral order of the MCD (coefficients 1..order; 24 is common).
      plots: write one picture per sentence (needs matplotlib, the ``plots`` extra).
      progress: show progress bars.
    """

    def __init__(self, synthesizer, order=DEFAULT_ORDER, plots=True, progress=True):
        if plots:
            require_matplotlib()
        bands = synthesizer.audio_config.n_mels
        if not 1 <= order < bands:
            raise InvalidInputError(
                f"The mel-cepstral order must be in [1, {bands - 1}] for this model's {bands} mel "
                f"bands, got {order}."
            )
        self.synthesizer = synthesizer
        self.order = order
        self.plots = plots
        self.progress = progress

    @property
    def audio_config(self):
        return self.synthesizer.audio_config

    def synthesize(self, text, wav_path):
        """Synthesizes ``text``, writes it to ``wav_path`` and analyses it."""
        waveform, sample_rate, outputs = self.synthesizer.synthesize(text, return_outputs=True)
        save_wav(wav_path, waveform, sample_rate)
        alignment = np.asarray(outputs.get("step_alignment", outputs["alignment"]))[0]
        steps = alignment.shape[1]
        forced = outputs.get("forced")
        forced = np.zeros(steps, bool) if forced is None else np.asarray(forced)[0, :steps]
        stopped = outputs.get("stopped")
        return _Synthesis(
            features=utterance_features(waveform, self.audio_config, self.order),
            alignment=alignment,
            forced=forced.astype(bool),
            stopped=None if stopped is None else bool(np.asarray(stopped)[0]),
        )

    def floor_features(self, reference):
        """The reference's own mel through the vocoder (or Griffin-Lim), analysed again."""
        mel = reference.mel
        vocoder = self.synthesizer.vocoder
        r = getattr(vocoder.model, "reduction_factor", 1) if vocoder is not None else 1
        mel = mel[: max(r, len(mel) // r * r)]
        if len(mel) < r:
            mel = np.pad(mel, [(0, r - len(mel)), (0, 0)])
        vocoded = self.synthesizer.vocode(mel[None].astype(np.float32))["audio"]
        return utterance_features(np.asarray(vocoded)[0], self.audio_config, self.order)

    def evaluate(self, sentences, references, out_dir):
        """Scores each sentence against its reference; writes the report into ``out_dir``.

        Args:
          sentences: the texts, in order.
          references: one wav path per sentence (any rate; resampled to the model's).
          out_dir: where ``synthesized/``, ``pictures/``, ``report.md`` and ``report.json`` go.

        Returns:
          dict: ``"summary"`` (by text length, see ``report.summarize``), ``"sentences"`` (one
          row per sentence) and ``"report"`` (the markdown file's path).

        Raises:
          ValueError: fewer than two sentences (the ceiling and retrieval compare with the
            other sentences), or not one reference per sentence.
        """
        sentences = list(sentences)
        _check_pairs(sentences, references)
        out_dir = Path(out_dir)
        names = sentence_file_names(len(sentences))
        syntheses, refs, floors, pictures = [], [], [], []
        for name, text, path in tqdm(
            list(zip(names, sentences, references, strict=True)),
            desc="Synthesizing",
            unit="sentence",
            disable=not self.progress,
        ):
            synthesis = self.synthesize(text, out_dir / "synthesized" / f"{name}.wav")
            reference = utterance_features(
                load_wav(path, self.audio_config.sample_rate), self.audio_config, self.order
            )
            syntheses.append(synthesis)
            refs.append(reference)
            floors.append(self.floor_features(reference))
            if self.plots:
                pictures.append(_picture(out_dir, name, text, synthesis, reference))
        scores = score_distances(
            [synthesis.features for synthesis in syntheses], refs, floors, self.progress
        )
        rows = [
            self.row(index, text, synthesis, reference, scores)
            for index, (text, synthesis, reference) in enumerate(
                zip(sentences, syntheses, refs, strict=True)
            )
        ]
        summary = write_report(out_dir, self.settings(), rows, pictures or None)
        logging.info("Wrote the evaluation report to %s.", out_dir / "report.md")
        return {"summary": summary, "sentences": rows, "report": out_dir / "report.md"}

    def row(self, index, text, synthesis, reference, scores):
        """The JSON-ready row of one sentence (docs/evaluation.md names every field)."""
        report = alignment_report(
            synthesis.alignment,
            stopped=True if synthesis.stopped is None else synthesis.stopped,
            forced=synthesis.forced,
        )
        steps = int(synthesis.alignment.shape[1])
        forced_steps = int(synthesis.forced.sum())
        failures = [name for name in ("skip", "repeat", "stall") if report[name]]
        row = {
            "index": index + 1,
            "text": text,
            "characters": len(text),
            "length": length_bucket(text),
            "stop_reason": {None: "n/a", True: "stop rule", False: "step guard"}[synthesis.stopped],
            "decoder_steps": steps,
            "forced_steps": forced_steps,
            "forced_fraction": forced_steps / steps,
            "last_step_forced": bool(synthesis.forced[-1]),
            "skip": report["skip"],
            "repeat": report["repeat"],
            "stall": report["stall"],
            "alignment_failures": ", ".join(failures),
            "longest_stall": report["longest_stall"],
            "focus_rate": report["focus_rate"],
            "diagonality": report["diagonality"],
            "synthesized_seconds": synthesis.features.seconds,
            "reference_seconds": reference.seconds,
            "duration_ratio": synthesis.features.seconds / reference.seconds,
        }
        for metric, values in scores.items():
            row[metric] = float(values["distance"][index])
            row[f"{metric}_floor"] = float(values["floor"][index])
            row[f"{metric}_ceiling"] = float(values["ceiling"][index])
            row[f"{metric}_d_rel"] = float(values["d_rel"][index])
            row[f"{metric}_retrieved"] = bool(values["retrieved"][index])
        return row

    def settings(self):
        """What was evaluated, for the report's header."""
        acoustic, vocoder = self.synthesizer.acoustic, self.synthesizer.vocoder
        return {
            "acoustic": f"{acoustic.directory.path} ({acoustic.info.name}, step {acoustic.step})",
            "vocoder": "Griffin-Lim"
            if vocoder is None
            else f"{vocoder.directory.path} ({vocoder.info.name}, step {vocoder.step})",
            "sample_rate": self.audio_config.sample_rate,
            "mel_cepstral_order": self.order,
        }


def evaluate(
    acoustic,
    sentences,
    out_dir,
    vocoder=None,
    references=None,
    espeak_voice=None,
    griffin_lim_iters=None,
    order=DEFAULT_ORDER,
    plots=True,
    progress=True,
    forcing="on",
):
    """Evaluates trained model directories on a sentence file (``ttszoo evaluate``).

    Args:
      acoustic, vocoder: model directories (no vocoder: Griffin-Lim).
      sentences: a UTF-8 file with one sentence per line, or a list of sentences.
      out_dir: the output folder (``references/`` is written there when eSpeak renders them).
      references: a folder with ``0001.wav``, ``0002.wav`` ... one per sentence in line order.
      espeak_voice: render the references with this eSpeak NG voice instead (default: the
        demo corpus' voice, when no ``references`` folder is given).
      griffin_lim_iters, order, plots, progress: see ``Synthesizer`` and ``Evaluator``.
      forcing: ``"on"`` (the model's inference-time attention forcing as configured),
        ``"off"`` (its own attention only, ``AcousticModel.set_attention_forcing``) or
        ``"both"``: two evaluations in ``out_dir/forcing_on`` and ``out_dir/forcing_off`` and
        their summaries side by side in ``out_dir/comparison.md`` and ``comparison.json``.

    Returns:
      The ``Evaluator.evaluate`` dict; for ``"both"``, ``{"on": ..., "off": ..., "report":
      comparison.md's path}``.
    """
    if references is not None and espeak_voice is not None:
        raise InvalidInputError("Give a references folder or an eSpeak NG voice, not both.")
    if forcing not in FORCING_CHOICES:
        raise InvalidInputError(f"forcing must be one of {FORCING_CHOICES}, got {forcing!r}.")
    if isinstance(sentences, (str, Path)):
        sentences = read_lines(sentences)
    synthesizer = Synthesizer.from_model_dirs(acoustic, vocoder, griffin_lim_iters)
    evaluator = Evaluator(synthesizer, order=order, plots=plots, progress=progress)
    out_dir = Path(out_dir)
    if references is not None:
        paths = reference_paths(references, len(sentences))
    else:
        paths = render_references(
            sentences, out_dir / "references", espeak_voice or VOICE, progress
        )
    model = synthesizer.acoustic.model
    if forcing != "both":
        model.set_attention_forcing(forcing == "on")
        return evaluator.evaluate(sentences, paths, out_dir)
    results = {}
    for setting in ("on", "off"):
        model.set_attention_forcing(setting == "on")
        results[setting] = evaluator.evaluate(sentences, paths, out_dir / f"forcing_{setting}")
    model.set_attention_forcing(True)
    summaries = {setting: result["summary"] for setting, result in results.items()}
    results["report"] = write_comparison(out_dir, evaluator.settings(), summaries)
    return results


def _check_pairs(sentences, references):
    """Raises InvalidInputError unless there are 2+ sentences, each with one reference."""
    if len(sentences) < 2:
        raise InvalidInputError(
            "Evaluation needs at least 2 sentences: each synthesis is also compared with the "
            "other sentences' references (the ceiling and retrieval)."
        )
    if len(references) != len(sentences):
        raise InvalidInputError(f"Got {len(sentences)} sentences but {len(references)} references.")


def _picture(out_dir, name, text, synthesis, reference):
    """Plots one sentence's alignment and mels into ``out_dir/pictures/<name>.png``."""
    return plot_sentence(
        out_dir / "pictures" / f"{name}.png",
        f"{name}: {text}",
        synthesis.alignment,
        synthesis.forced,
        synthesis.features.mel,
        reference.mel,
    )
