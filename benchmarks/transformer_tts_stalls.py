"""Where a trained Transformer TTS run's free-running attention stalls (docs/transformer_tts.md,
point 16), and whether a stall belongs to its text or to where the text stands in the sentence.

For one run of ``transformer_tts_robustness.py`` and one decoding, every held-out sentence is
synthesized and every run of decoder steps without progress that is longer than the failure
detector's limit (``ttszoo.evaluation.default_max_stay``) is listed with the symbol it holds,
classed as inside a word, a word space, the space after punctuation (a pause), punctuation or
a stress mark. The control: each sentence with a stall is decoded again from a word boundary at
least ``CONTROL_CONTEXT`` symbols before its first stall; the stall "recurs" when the shorter
text stalls within ``CONTROL_TOLERANCE`` symbols of the same symbol. A stall that recurs comes
from the text around it; one that does not, from what came before it (the decoder's history,
its position, the sentence's length).

    python benchmarks/transformer_tts_stalls.py --out runs/tts_robustness --variant sma_ss \\
        --seed 0 --prenet_noise_seed 0 --min_characters 100

Writes ``stalls[_hard][_noise<k>].json`` into the run directory and prints the summary.
"""

import argparse
import collections
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from transformer_tts_robustness import VARIANTS, held_out, run_dir, write_json  # noqa: E402

# Symbols of context the control keeps before the first stall, and how near the stall must come
# back to count as the same one.
CONTROL_CONTEXT = 8
CONTROL_TOLERANCE = 4
PUNCTUATION = set(",.:;?!")
STRESS_MARKS = set("ˈˌ")
CLASSES = ("inside a word", "space after punctuation", "word space", "punctuation", "stress mark")


def symbol_class(symbols, index):
    """The class of ``symbols[index]`` (a list of decoded symbol strings), one of ``CLASSES``."""
    symbol = symbols[index]
    if symbol == " ":
        after_punctuation = index > 0 and symbols[index - 1] in PUNCTUATION
        return "space after punctuation" if after_punctuation else "word space"
    if symbol in PUNCTUATION:
        return "punctuation"
    return "stress mark" if symbol in STRESS_MARKS else "inside a word"


def long_stalls(model, ids):
    """Decodes ``ids``; returns the decoder steps, whether it stopped and its stall runs longer
    than the detector's limit, as ``(start, length, symbol)``."""
    from ttszoo.evaluation import default_max_stay, stall_runs

    result = model.synthesize(np.asarray([ids], np.int32))
    alignment = result["step_alignment"][0].numpy()
    symbols, steps = alignment.shape
    limit = default_max_stay(symbols, steps)
    runs = [run for run in stall_runs(alignment) if run[1] > limit]
    return {"steps": steps, "stopped": bool(result["stopped"][0].numpy()), "stalls": runs}


def control_start(ids, symbol, space_id):
    """Index of the first symbol after the last word space at least ``CONTROL_CONTEXT`` symbols
    before ``symbol``; None when there is none (the stall is near the start of the text)."""
    for index in range(symbol - CONTROL_CONTEXT, 0, -1):
        if ids[index] == space_id:
            return index + 1
    return None


def stalls_of_sentence(model, tokenizer, sentence, control, space_id):
    """One sentence's row: its long stalls, the class of each held symbol and, with
    ``control``, whether the first stall recurs in the text restarted shortly before it."""
    ids = tokenizer.encode(sentence)
    symbols = [tokenizer.decode([index]) for index in ids]
    row = {"sentence": sentence, "symbols": len(ids), **long_stalls(model, ids)}
    row["classes"] = [symbol_class(symbols, symbol) for _, _, symbol in row["stalls"]]
    first = row["stalls"][0][2] if row["stalls"] else None
    start = None if first is None or not control else control_start(ids, first, space_id)
    if start is not None:
        again = long_stalls(model, ids[start:])
        row["control"] = {
            "start": start,
            "recurs": any(
                abs(s + start - first) <= CONTROL_TOLERANCE for _, _, s in again["stalls"]
            ),
        }
    return row


def ids_of_space(tokenizer):
    """The tokenizer's id of the word space."""
    (space,) = [i for i in tokenizer.encode("a b") if tokenizer.decode([i]) == " "]
    return space


def summary(rows, seconds_per_step):
    """Counts over the rows: stalled sentences, runs and steps per class, where the first stall
    starts, the control's recurrences and the longest stall of each sentence in seconds."""
    stalled = [row for row in rows if row["stalls"]]
    runs, steps = collections.Counter(), collections.Counter()
    for row in stalled:
        for (_, length, _), name in zip(row["stalls"], row["classes"], strict=True):
            runs[name] += 1
            steps[name] += length
    controls = [row["control"]["recurs"] for row in stalled if "control" in row]
    longest = np.array([max(run[1] for run in row["stalls"]) for row in stalled]) * seconds_per_step
    first = [row["stalls"][0] for row in stalled]
    return {
        "sentences": len(rows),
        "stalled": len(stalled),
        "runs": dict(runs),
        "steps": dict(steps),
        "first_stall_step_median": float(np.median([s[0] for s in first])) if first else None,
        "first_stall_text_fraction_median": (
            float(np.median([s[2] / row["symbols"] for s, row in zip(first, stalled, strict=True)]))
            if first
            else None
        ),
        "control_recurs": int(sum(controls)),
        "controls": len(controls),
        "longest_stall_seconds": sorted(float(x) for x in longest),
    }


def markdown(result):
    total_runs = sum(result["runs"].values()) or 1
    total_steps = sum(result["steps"].values()) or 1
    lines = [
        f"{result['stalled']} of {result['sentences']} sentences stall; the first stall starts "
        f"at decoder step {result['first_stall_step_median']} (median), "
        f"{result['first_stall_text_fraction_median']:.0%} into the text; the control "
        f"recurs for {result['control_recurs']} of {result['controls']}.",
        "",
        "| held symbol | stall runs | stalled steps |",
        "|---|---:|---:|",
    ]
    for name in CLASSES:
        runs, steps = result["runs"].get(name, 0), result["steps"].get(name, 0)
        lines.append(f"| {name} | {runs} ({runs / total_runs:.0%}) | {steps / total_steps:.0%} |")
    seconds = np.array(result["longest_stall_seconds"])
    if seconds.size:
        lines += [
            "",
            f"Longest stall per stalled sentence: median {np.median(seconds):.2f} s; over 1 s in "
            f"{int((seconds > 1).sum())}, under 0.5 s in {int((seconds < 0.5).sum())}.",
        ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/tts_robustness"))
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="sma_ss")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hard", action="store_true", help="hard SMA at inference")
    parser.add_argument("--prenet_noise_seed", type=int, help="keep the prenet's dropout on")
    parser.add_argument("--min_characters", type=int, default=0, help="skip shorter sentences")
    parser.add_argument("--no_control", action="store_true", help="skip the control decodings")
    args = parser.parse_args()

    from ttszoo import Synthesizer

    directory = run_dir(args.out, args.variant, args.seed)
    synthesizer = Synthesizer.from_model_dirs(directory / "model")
    model = synthesizer.acoustic.model
    model.hard_inference = args.hard
    model.prenet_noise_seed = args.prenet_noise_seed
    sentences = [s for s in held_out() if len(s) >= args.min_characters]
    tokenizer = synthesizer.tokenizer
    space_id = ids_of_space(tokenizer)
    rows = [
        stalls_of_sentence(model, tokenizer, sentence, not args.no_control, space_id)
        for sentence in sentences
    ]
    audio = synthesizer.acoustic.audio_config
    seconds_per_step = model.reduction_factor * audio.hop_length / audio.sample_rate
    result = {**summary(rows, seconds_per_step), "step": synthesizer.acoustic.step, "rows": rows}
    name = "stalls" + ("_hard" if args.hard else "")
    if args.prenet_noise_seed is not None:
        name += f"_noise{args.prenet_noise_seed}"
    write_json(directory / f"{name}.json", result)
    print(markdown(result))


if __name__ == "__main__":
    main()
