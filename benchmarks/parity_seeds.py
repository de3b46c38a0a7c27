"""Training parity over several seeds: ttszoo against its peer at every evaluation, with the
run-to-run noise measured rather than assumed.

One run of ``wavenet_training_parity.py`` or ``wavegrad_training_parity.py`` compares one pair
of runs, and one pair drifts far: ttszoo against its own twin (the same model, its weights one
ulp away) differed by up to 18 % (WaveNet) and 78 % (WaveGrad) at single evaluations
(docs/wavenet.md, docs/wavegrad.md). This script takes the ``--json`` results of runs that
differ only in ``--seed`` (a seed draws the initial weights, the batches and the held-out set,
which both sides share) and reports, at each evaluation step:

* each side's mean held-out loss over the seeds and its spread (sample standard deviation);
* the ratio of the means, ttszoo / peer, against the issue's bar of 1.05;
* the paired log ratio ``log(ttszoo_s / peer_s)`` of each seed ``s``: its mean as a ratio, with
  a two-sided 95 % Student-t interval over the seeds (the noise, measured);
* a verdict: ``below`` (the interval lies under 1), ``within 5 %`` (ratio of the means at most
  1.05), ``within noise`` (above 1.05, but the interval holds 1) or ``above``.

Then the same paired interval over each seed's mean log ratio across the evaluations after
step 0 (the whole run). ``--band k`` pools WaveGrad's held-out L1 of the ``k``-th band of noise
levels instead of the whole held-out set. ::

    python benchmarks/parity_seeds.py /tmp/wn_s0.json /tmp/wn_s1.json /tmp/wn_s2.json \\
        --figure docs/figures/wavenet_parity_seeds.png
"""

import argparse
import json
import math
from pathlib import Path

import numpy as np
from scipy import stats

MEASURES = {"heldout_nll": "held-out NLL (nats per sample)", "heldout_l1": "held-out L1"}
# Settings that may differ between the runs pooled (the rest must match).
PER_RUN_SETTINGS = ("seed", "twin", "threads", "peer_python")
BAR = 1.05


def load_runs(paths):
    """The results of each path, checked to be the same benchmark at the same settings with
    distinct seeds. Returns ``(runs, measure)``, ``measure`` the evaluation key."""
    if len(paths) < 2:
        raise ValueError("Give at least two runs (one --json file per seed).")
    runs = [json.loads(Path(p).read_text()) for p in paths]
    measures = {next(k for k in MEASURES if k in run["evaluations"][0]) for run in runs}
    if len(measures) != 1:
        raise ValueError(f"The files come from different benchmarks (measures {measures}).")

    def shared(run):
        return {k: v for k, v in run["settings"].items() if k not in PER_RUN_SETTINGS}

    for path, run in zip(paths[1:], runs[1:], strict=True):
        if shared(run) != shared(runs[0]):
            differing = sorted(k for k in shared(run) if shared(run)[k] != shared(runs[0]).get(k))
            raise ValueError(f"{path} was run with other settings than {paths[0]}: {differing}.")
    seeds = [run["settings"]["seed"] for run in runs]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"Each run needs its own --seed, got {seeds}.")
    return runs, measures.pop()


def held_out_losses(runs, measure, band=None):
    """``(steps, losses)``: the evaluation steps and ``{side: [seeds, evaluations]}``.

    With ``band``, the held-out L1 of that band of noise levels instead of the whole held-out
    set (``heldout_bands`` of wavegrad_training_parity.py; band 1 has the least noise).
    """
    steps = [row["step"] for row in runs[0]["evaluations"]]
    if band is None:
        values = [[row[measure] for row in run["evaluations"]] for run in runs]
    else:
        if not all("heldout_bands" in run for run in runs):
            raise ValueError("--band needs wavegrad_training_parity.py runs with heldout_bands.")
        values = [[row for row in run["heldout_bands"] if row["band"] == band] for run in runs]
        if any(len(run_values) != len(steps) for run_values in values):
            raise ValueError(f"Not every run has band {band} at each of the steps {steps}.")
    losses = {
        side: np.array([[row[side] for row in run_values] for run_values in values])
        for side in ("ttszoo", "peer")
    }
    return steps, losses


def t_interval(values, confidence=0.95):
    """``(mean, low, high)``: the mean of ``values`` and its two-sided Student-t interval."""
    values = np.asarray(values, np.float64)
    mean = values.mean()
    half = stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * values.std(ddof=1)
    return mean, mean - half / math.sqrt(len(values)), mean + half / math.sqrt(len(values))


def verdict(ratio_of_means, low, high):
    """``below``, ``within 5 %``, ``within noise`` or ``above`` (see the module docstring);
    ``low`` and ``high`` bound the paired ratio."""
    if high < 1.0:
        return "below"
    if ratio_of_means <= BAR:
        return "within 5 %"
    return "within noise" if low <= 1.0 else "above"


def compare(steps, losses):
    """One row per evaluation after step 0, then one ``"whole run"`` row."""
    log_ratios = np.log(losses["ttszoo"] / losses["peer"])  # [seeds, evaluations]
    rows = []
    for e, step in enumerate(steps):
        if step == 0:
            continue
        ours, theirs = losses["ttszoo"][:, e], losses["peer"][:, e]
        mean, low, high = np.exp(t_interval(log_ratios[:, e]))
        ratio = ours.mean() / theirs.mean()
        rows.append({
            "step": step,
            "ttszoo": [float(ours.mean()), float(ours.std(ddof=1))],
            "peer": [float(theirs.mean()), float(theirs.std(ddof=1))],
            "ratio_of_means": float(ratio),
            "paired_ratio": [float(mean), float(low), float(high)],
            "verdict": verdict(ratio, low, high),
        })  # fmt: skip
    later = [e for e, step in enumerate(steps) if step > 0]
    mean, low, high = np.exp(t_interval(log_ratios[:, later].mean(axis=1)))
    whole = losses["ttszoo"][:, later].mean() / losses["peer"][:, later].mean()
    rows.append({
        "step": "whole run",
        "ttszoo": [float(losses["ttszoo"][:, later].mean()), None],
        "peer": [float(losses["peer"][:, later].mean()), None],
        "ratio_of_means": float(whole),
        "paired_ratio": [float(mean), float(low), float(high)],
        "verdict": verdict(whole, low, high),
    })  # fmt: skip
    return rows


def markdown_table(rows, seeds):
    """The comparison as a markdown table."""
    lines = [
        f"| step | ttszoo mean ± sd | peer mean ± sd | ratio of means | paired ratio, 95 % "
        f"interval ({seeds} seeds) | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [
            f"{row[side][0]:.4f}" + ("" if row[side][1] is None else f" ± {row[side][1]:.4f}")
            for side in ("ttszoo", "peer")
        ]
        mean, low, high = row["paired_ratio"]
        lines.append(
            f"| {row['step']} | {cells[0]} | {cells[1]} | {row['ratio_of_means']:.3f} | "
            f"{mean:.3f} [{low:.3f}, {high:.3f}] | {row['verdict']} |"
        )
    return "\n".join(lines)


def figure(steps, losses, measure, peer_label, path):
    """Each side's held-out loss (seed mean, band from the lowest to the highest seed) and each
    seed's ratio ttszoo / peer with the 1.05 bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for side, label, color in (("ttszoo", "ttszoo", "C0"), ("peer", peer_label, "C1")):
        values = losses[side]
        left.plot(steps, values.mean(axis=0), "o-", color=color, label=f"{label}, seed mean")
        left.fill_between(steps, values.min(axis=0), values.max(axis=0), color=color, alpha=0.2)
    left.set(xlabel="step", ylabel=MEASURES[measure], title="held-out loss (band: all seeds)")
    ratios = losses["ttszoo"] / losses["peer"]
    for s, seed_ratios in enumerate(ratios):
        right.plot(steps, seed_ratios, ".-", color="0.6", label="one seed" if s == 0 else None)
    right.plot(steps, np.exp(np.log(ratios).mean(axis=0)), "o-", color="C0",
               label="geometric mean")  # fmt: skip
    right.axhline(BAR, color="C3", linestyle="--", label="1.05")
    right.axhline(1.0, color="k", linewidth=0.8)
    right.set(xlabel="step", ylabel="ttszoo / peer", title="held-out ratio per seed")
    for axis in (left, right):
        axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+", help="--json files of the same benchmark")
    parser.add_argument("--figure", default=None, help="Write the per-seed curves here (png).")
    parser.add_argument("--json", default=None, help="Also write the rows here.")
    parser.add_argument(
        "--band", type=int, default=None,
        help="WaveGrad: pool the held-out L1 of this band of noise levels (1: the least noise)",
    )  # fmt: skip
    args = parser.parse_args()
    runs, measure = load_runs(args.results)
    steps, losses = held_out_losses(runs, measure, args.band)
    rows = compare(steps, losses)
    seeds = [run["settings"]["seed"] for run in runs]
    band = "" if args.band is None else f", noise band {args.band}"
    print(f"{MEASURES[measure]}{band}, seeds {seeds}, peer: {runs[0]['peer']}")
    print(markdown_table(rows, len(runs)))
    if args.json:
        Path(args.json).write_text(json.dumps({"seeds": seeds, "rows": rows}, indent=1) + "\n")
    if args.figure:
        peer_label = runs[0]["peer"].split(" on ")[0]
        figure(steps, losses, measure, peer_label, args.figure)


if __name__ == "__main__":
    main()
