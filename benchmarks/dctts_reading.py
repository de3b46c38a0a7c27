"""Does the demo's DCTTS read held-out sentences? Train it as a user would, then score it.

Runs ``examples/demo.py`` (corpus, phoneme records, Text2Mel, one held-out wav) in a child
process, measuring its wall time, its CPU time (user + system of the child and everything it
starts) and the 1-minute load average before and after; then scores the trained Text2Mel with
``ttszoo.evaluation.evaluate(..., forcing="both")`` on the project's held-out sentences
(``ttszoo/data/demo_heldout_sentences.txt``, references spoken by eSpeak NG with the corpus'
settings), Griffin-Lim on the mel as the vocoder. Prints one JSON object: the budget, the
training logs' last line and the evaluation's ``all`` summary with forcing on and off; the
per-sentence reports and pictures land in ``OUT/evaluation``.

The README demo (issue 13's targets: forced steps <= 10 %, no step-guard stop, retrieval >= 80 %,
d_rel (MCD) <= 0.6, at most 10 minutes on 2 idle cores):

    python benchmarks/dctts_reading.py --out /tmp/dctts_demo

The one-CPU-hour recipe (targets: forced <= 2 %, no stalls, retrieval >= 95 %, d_rel <= 0.35):

    python benchmarks/dctts_reading.py --out /tmp/dctts_hour --corpus large \\
        --text2mel_recipe recipes/dctts/text2mel_cpu_hour.gin

docs/dctts.md ("Does it read?") has the measured rows.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SENTENCES = ROOT / "ttszoo" / "data" / "demo_heldout_sentences.txt"


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def train(out, corpus, recipe, steps):
    """Runs examples/demo.py; returns its wall and CPU seconds and the load around it."""
    command = [sys.executable, str(ROOT / "examples" / "demo.py"), "--out", str(out)]
    command += ["--corpus", corpus, "--text2mel_recipe", recipe]
    if steps is not None:
        command += ["--text2mel_steps", str(steps)]
    load_before, cpu_before, started = os.getloadavg()[0], children_cpu_seconds(), time.time()
    subprocess.run(command, check=True, cwd=ROOT)
    return {
        "command": " ".join(command[1:]),
        "wall_minutes": round((time.time() - started) / 60, 2),
        "cpu_minutes": round((children_cpu_seconds() - cpu_before) / 60, 2),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
    }


def score(out, sentences):
    """``evaluate(forcing="both")`` on the demo's Text2Mel; returns both ``all`` summaries."""
    from ttszoo.evaluation import evaluate

    started = time.time()
    result = evaluate(out / "text2mel", sentences, out / "evaluation", forcing="both")
    summaries = {
        f"forcing_{setting}": result[setting]["summary"]["all"] for setting in ("on", "off")
    }
    return dict(summaries, evaluation_minutes=round((time.time() - started) / 60, 2))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", required=True, type=Path, help="the demo's --out folder")
    parser.add_argument("--corpus", choices=("small", "large"), default="small")
    parser.add_argument("--text2mel_recipe", default="recipes/dctts/text2mel_demo.gin")
    parser.add_argument("--text2mel_steps", type=int, help="default: the recipe's train.steps")
    parser.add_argument("--sentences", type=Path, default=SENTENCES)
    parser.add_argument(
        "--evaluate_only", action="store_true", help="score the model already in --out"
    )
    args = parser.parse_args()
    report = {"corpus": args.corpus, "recipe": args.text2mel_recipe}
    if not args.evaluate_only:
        report["training"] = train(args.out, args.corpus, args.text2mel_recipe, args.text2mel_steps)
    report.update(score(args.out, args.sentences))
    (args.out / "dctts_reading.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
