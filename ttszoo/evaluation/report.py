"""The report of ``ttszoo evaluate``: per-sentence rows, summaries by text length, files.

Writes ``report.json`` (settings, summaries, rows), ``report.md`` (the same as tables) and,
optionally, one picture per sentence (``pictures/0001.png``: the model's alignment with its
forced steps marked, the synthesized and the reference mel). docs/evaluation.md explains
every column.
"""

import json
import math
from pathlib import Path

import numpy as np

from ttszoo.errors import TTSZooError
from ttszoo.evaluation.scoring import LENGTH_BUCKETS

METRICS = ("mcd", "logmel_l1")
"""The two distances: mel-cepstral distortion (dB) and log-mel L1 (nepers), both DTW-aligned."""

_SUMMARY_COLUMNS = (
    ("sentences", "sentences", "{}"),
    ("step_guard_stops", "guard stops", "{}"),
    ("forced_fraction", "forced steps", "{:.1%}"),
    ("last_step_forced", "forced last steps", "{}"),
    ("skips", "skips", "{}"),
    ("repeats", "repeats", "{}"),
    ("stalls", "stalls", "{}"),
    ("duration_ratio", "duration ratio", "{:.2f}"),
    ("mcd", "MCD dB", "{:.2f}"),
    ("mcd_d_rel", "d_rel MCD", "{:.2f}"),
    ("mcd_retrieval", "retrieval MCD", "{:.0%}"),
    ("logmel_l1", "log-mel L1", "{:.3f}"),
    ("logmel_l1_d_rel", "d_rel L1", "{:.2f}"),
    ("logmel_l1_retrieval", "retrieval L1", "{:.0%}"),
)
_SENTENCE_COLUMNS = (
    ("index", "#", "{}"),
    ("characters", "chars", "{}"),
    ("stop_reason", "stop", "{}"),
    ("forced_fraction", "forced", "{:.0%}"),
    ("alignment_failures", "alignment", "{}"),
    ("duration_ratio", "duration", "{:.2f}"),
    ("mcd", "MCD dB", "{:.2f}"),
    ("mcd_floor", "floor", "{:.2f}"),
    ("mcd_ceiling", "ceiling", "{:.2f}"),
    ("mcd_d_rel", "d_rel", "{:.2f}"),
    ("mcd_retrieved", "retrieved", "{}"),
    ("logmel_l1_d_rel", "d_rel L1", "{:.2f}"),
    ("text", "text", "{}"),
)


def summarize(rows):
    """Aggregates of sentence rows: ``{"all": {...}, "< 40": {...}, ...}`` (empty groups left out).

    Forced steps are pooled (forced steps over all decoder steps of the group); distances,
    d_rel and duration ratios are means; retrieval is the share of sentences retrieved.
    """
    groups = {"all": rows}
    for bucket in LENGTH_BUCKETS:
        members = [row for row in rows if row["length"] == bucket]
        if members:
            groups[bucket] = members
    return {name: _summary(members) for name, members in groups.items()}


def _summary(rows):
    steps = sum(row["decoder_steps"] for row in rows)
    summary = {
        "sentences": len(rows),
        "step_guard_stops": sum(row["stop_reason"] == "step guard" for row in rows),
        "forced_fraction": sum(row["forced_steps"] for row in rows) / steps if steps else 0.0,
        "last_step_forced": sum(row["last_step_forced"] for row in rows),
        "skips": sum(row["skip"] for row in rows),
        "repeats": sum(row["repeat"] for row in rows),
        "stalls": sum(row["stall"] for row in rows),
        "alignment_failures": sum(bool(row["alignment_failures"]) for row in rows),
        "duration_ratio": _mean(row["duration_ratio"] for row in rows),
    }
    for metric in METRICS:
        summary[metric] = _mean(row[metric] for row in rows)
        summary[f"{metric}_d_rel"] = _mean(row[f"{metric}_d_rel"] for row in rows)
        summary[f"{metric}_retrieval"] = _mean(row[f"{metric}_retrieved"] for row in rows)
    return summary


def _mean(values):
    values = [float(value) for value in values if value is not None and not math.isnan(value)]
    return float(np.mean(values)) if values else float("nan")


def _cell(template, value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return template.format(value).replace("|", "\\|")


def _table(columns, rows, first=None):
    header = ([first[0]] if first else []) + [title for _, title, _ in columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, row in rows:
        cells = ([label] if first else []) + [_cell(fmt, row[key]) for key, _, fmt in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(settings, summary, rows, pictures=None):
    """The report as markdown: settings, the summary by text length, one row per sentence."""
    lines = ["# ttszoo evaluate", ""]
    lines += [f"- {name}: {value}" for name, value in settings.items()]
    lines += ["", "## By text length (characters)", ""]
    lines.append(_table(_SUMMARY_COLUMNS, list(summary.items()), first=("group",)))
    lines += ["", "## Sentences", "", _table(_SENTENCE_COLUMNS, [(None, row) for row in rows])]
    if pictures:
        lines += ["", "## Pictures", ""]
        lines += [
            f"- {row['index']}: [{Path(p).name}]({p})"
            for row, p in zip(rows, pictures, strict=True)
        ]
    lines += ["", "docs/evaluation.md explains each number.", ""]
    return "\n".join(lines)


def write_report(out_dir, settings, rows, pictures=None):
    """Writes ``report.json`` and ``report.md`` into ``out_dir``; returns the summary."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize(rows)
    relative = [str(Path(p).relative_to(out_dir)) for p in pictures] if pictures else None
    _write_json(
        out_dir / "report.json", {"settings": settings, "summary": summary, "sentences": rows}
    )
    (out_dir / "report.md").write_text(markdown(settings, summary, rows, relative))
    return summary


def write_comparison(out_dir, settings, summaries):
    """Writes ``comparison.json`` and ``comparison.md``: the summaries of the same model with
    attention forcing on and off (``{"on": summary, "off": summary}``), group by group.

    Returns ``comparison.md``'s path.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_json(out_dir / "comparison.json", {"settings": settings, "summaries": summaries})
    rows = [
        (f"{group}, forcing {setting}", summaries[setting][group])
        for group in summaries["on"]
        for setting in ("on", "off")
        if group in summaries[setting]
    ]
    lines = ["# ttszoo evaluate: attention forcing on and off", ""]
    lines += [f"- {name}: {value}" for name, value in settings.items()]
    lines += ["- per-sentence reports: forcing_on/report.md, forcing_off/report.md", ""]
    lines += [_table(_SUMMARY_COLUMNS, rows, first=("group (characters)",)), ""]
    lines += ["docs/evaluation.md explains each number.", ""]
    path = out_dir / "comparison.md"
    path.write_text("\n".join(lines))
    return path


def _write_json(path, document):
    """Writes ``document`` to ``path`` as indented JSON, NaNs as null."""
    path.write_text(json.dumps(_without_nan(document), indent=2, allow_nan=False) + "\n")


def _without_nan(value):
    """``value`` with every NaN float replaced by None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {key: _without_nan(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nan(item) for item in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


class MissingPlotsError(TTSZooError, ImportError):
    """Pictures were asked for, but matplotlib (the ``plots`` extra) is not installed."""


def require_matplotlib():
    """Raises ``MissingPlotsError``, naming the fix, when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise MissingPlotsError(
            "The evaluation pictures need matplotlib: pip install 'ttszoo[plots]', or turn the "
            "pictures off (plots=False, `ttszoo evaluate --noplots`)."
        ) from error


def plot_sentence(path, title, alignment, forced, synthesized_mel, reference_mel):
    """Saves the alignment ``[N, T]`` (forced steps ``[T]`` marked) and both mels ``[T', F]``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(3, 1, figsize=(9, 9))
    axes[0].imshow(alignment, origin="lower", aspect="auto", interpolation="none")
    steps = np.flatnonzero(forced)
    if steps.size:
        top = np.full(steps.shape, alignment.shape[0] - 0.5)
        axes[0].plot(steps, top, "rv", markersize=6, clip_on=False)
    axes[0].set(
        title=f"{title}\nattention (red marks: {steps.size} forced steps)",
        xlabel="decoder step",
        ylabel="text symbol",
    )
    for axis, mel, name in (
        (axes[1], synthesized_mel, "synthesized"),
        (axes[2], reference_mel, "reference"),
    ):
        axis.imshow(np.asarray(mel).T, origin="lower", aspect="auto", interpolation="none")
        axis.set(title=f"{name} mel (silence trimmed)", xlabel="frame", ylabel="mel band")
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return Path(path)
