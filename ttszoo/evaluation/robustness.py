"""The robustness table: ``ttszoo evaluate`` results of several trainings, over seeds.

A training variant (an attention type, a reduction-factor schedule) is trained with several
seeds; each trained model is evaluated on the same sentence file (``Evaluator``), which gives
one row per sentence. This module turns those rows into the numbers of the table of
docs/transformer_tts.md:

* ``run_scores(rows)``: one evaluation's failure shares (skip, repeat, stall, no stop, any),
  retrieval, mean d_rel (MCD) and mean duration ratio;
* ``aggregate(scores)``: each number's mean and spread over the seeds;
* ``steps_until_diagonal(history)``: the first validation step at which the teacher-forced
  alignment counts as diagonal (``DIAGONAL_BAND``, ``DIAGONAL_THRESHOLD``);
* ``text_reliance(history)``: how much the last validation's teacher-forced loss grows when
  each text is reversed (0: the model does not read its text);
* ``markdown_table(entries)``: the table.

Failure classes come from the evaluator's rows (docs/evaluation.md): ``skip``, ``repeat`` and
``stall`` from the model's own attention, ``no_stop`` when the step guard rather than the stop
rule ended the utterance; a sentence failed when any of the four holds.
"""

import math

import numpy as np

from ttszoo.errors import InvalidInputError

FAILURE_CLASSES = ("skip", "repeat", "stall", "no_stop")
LONG_TEXT = 100
"""Sentences over this many characters are the long ones (``failed_long``)."""
DIAGONAL_BAND = 0.1
DIAGONAL_THRESHOLD = 0.9
"""A teacher-forced alignment is diagonal when, averaged over the fixed validation
utterances, at least ``DIAGONAL_THRESHOLD`` of its weight lies within ``DIAGONAL_BAND`` (a
fraction of the text and of the output length) of the diagonal ``n / N = t / T``."""

SCORES = (
    ("failed", "failed", "{:.0%}"),
    ("failed_long", "failed > 100 chars", "{:.0%}"),
    ("skip", "skip", "{:.0%}"),
    ("repeat", "repeat", "{:.0%}"),
    ("stall", "stall", "{:.0%}"),
    ("no_stop", "no stop", "{:.0%}"),
    ("retrieval", "retrieval", "{:.0%}"),
    ("d_rel_mcd", "d_rel MCD", "{:.2f}"),
    ("duration_ratio", "duration ratio", "{:.2f}"),
)
"""``(key, column title, format)`` of each score of ``run_scores``, in table order."""


def failure_classes(row):
    """``{"skip", "repeat", "stall", "no_stop", "failed"}`` (bools) of one evaluator row."""
    classes = {name: bool(row[name]) for name in ("skip", "repeat", "stall")}
    classes["no_stop"] = row["stop_reason"] == "step guard"
    classes["failed"] = any(classes.values())
    return classes


def _defined(values):
    """The values that are numbers (None and NaN, an undefined d_rel, left out)."""
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]


def _mean(values):
    values = _defined(values)
    return float(np.mean(values)) if values else None


def run_scores(rows):
    """The scores of one evaluation (``Evaluator.evaluate``'s ``"sentences"`` rows).

    Returns:
      dict with the shares of sentences per failure class and ``failed`` (any class),
      ``failed_long`` (the share among sentences over ``LONG_TEXT`` characters; None if there
      are none), ``retrieval`` (share retrieved by MCD), ``d_rel_mcd`` (mean over the sentences
      where it is defined) and ``duration_ratio`` (mean), and ``sentences`` (the count).
    """
    if not rows:
        raise InvalidInputError("run_scores needs the rows of at least one sentence.")
    classes = [failure_classes(row) for row in rows]
    scores = {name: _mean(c[name] for c in classes) for name in (*FAILURE_CLASSES, "failed")}
    long_failed = [
        c["failed"] for c, row in zip(classes, rows, strict=True) if len(row["text"]) > LONG_TEXT
    ]
    scores["failed_long"] = _mean(long_failed)
    scores["retrieval"] = _mean(row["mcd_retrieved"] for row in rows)
    scores["d_rel_mcd"] = _mean(row["mcd_d_rel"] for row in rows)
    scores["duration_ratio"] = _mean(row["duration_ratio"] for row in rows)
    scores["sentences"] = len(rows)
    return scores


def spread(values):
    """``{"mean", "std", "min", "max", "n"}`` of the defined values (None left out).

    ``std`` is the sample standard deviation (ddof 1); None with fewer than two values.
    """
    values = _defined(values)
    if not values:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    return {
        "mean": float(np.mean(values)),
        "std": float(np.std(values, ddof=1)) if len(values) > 1 else None,
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def aggregate(seed_scores):
    """``{score: spread(...)}`` over the seeds' ``run_scores`` (or any dicts of numbers and
    None), and ``"seeds"``: how many there are."""
    if not seed_scores:
        raise InvalidInputError("aggregate needs the scores of at least one seed.")
    keys = [key for key in seed_scores[0] if key != "sentences"]
    summary = {key: spread([scores.get(key) for scores in seed_scores]) for key in keys}
    return {**summary, "seeds": len(seed_scores)}


def steps_until_diagonal(history, threshold=DIAGONAL_THRESHOLD):
    """The first step of ``history`` whose ``"diagonality"`` reaches ``threshold``, else None.

    Args:
      history: ``[{"step": int, "diagonality": float}, ...]`` in training order (one entry per
        validation pass: the mean teacher-forced diagonality of the validation utterances).
    """
    for entry in history:
        if entry["diagonality"] >= threshold:
            return int(entry["step"])
    return None


def text_reliance(history):
    """How much worse the last validation's teacher-forced mel L1 is with reversed texts:
    ``tf_l1_reversed_text / tf_l1_text - 1`` (``ttszoo.evaluation.text_reliance``), or None
    when the history holds no such entry. Near 0: the model does not use its text.

    Args:
      history: the validation entries in training order; the last one is read.
    """
    if not history or "tf_l1_reversed_text" not in history[-1]:
        return None
    last = history[-1]
    return last["tf_l1_reversed_text"] / last["tf_l1_text"] - 1


def _cell(summary, template, seeds):
    """``mean ± std`` (the mean alone for one value), ``–`` when undefined, and how many of the
    ``seeds`` runs gave a value when some did not."""
    if summary["mean"] is None:
        return "–"
    text = template.format(summary["mean"])
    if summary["std"] is not None:
        text += " ± " + template.format(summary["std"])
    if summary["n"] < seeds:
        text += f" ({summary['n']} of {seeds})"
    return text


def markdown_table(entries, extra_columns=()):
    """The robustness table: one row per ``(label, aggregate(...))`` entry.

    Each cell is the mean over the seeds ± the sample standard deviation (for shares both in
    percent: the deviation is in percentage points); a cell that only some seeds define (a
    run whose alignment never became diagonal) says of how many. ``extra_columns``: ``(key,
    title, format)`` of further aggregated numbers appended after ``SCORES``.
    """
    columns = (*SCORES, *extra_columns)
    lines = [
        "| variant | seeds | " + " | ".join(title for _, title, _ in columns) + " |",
        "|---|---:|" + "---:|" * len(columns),
    ]
    for label, summary in entries:
        seeds = summary["seeds"]
        cells = [_cell(summary.get(key, spread([])), fmt, seeds) for key, _, fmt in columns]
        lines.append(f"| {label} | {seeds} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
