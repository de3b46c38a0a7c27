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

With ``--anatomy`` each stall is also described against the sentence's eSpeak NG reference
(docs/transformer_tts.md, point 18): the class of the symbol the attention has to move onto
next, how many decoder steps the same model spends on that symbol when teacher-forced on the
reference, how
much the synthesized frames change during the stall (against the utterance's mean change) and
how many of them are silent, and how far the alignment's mean position moves while its most
attended symbol stays.

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

from transformer_tts_robustness import (  # noqa: E402
    VARIANTS,
    held_out,
    run_dir,
    sentences_and_references,
    write_json,
)

# Symbols of context the control keeps before the first stall, and how near the stall must come
# back to count as the same one.
CONTROL_CONTEXT = 8
CONTROL_TOLERANCE = 4
PUNCTUATION = set(",.:;?!")
STRESS_MARKS = set("ˈˌ")
CLASSES = ("inside a word", "space after punctuation", "word space", "punctuation", "stress mark")
# The sounds eSpeak NG's English IPA writes as vowels; a vowel's length mark is a symbol of its own.
VOWELS = set("aæɐɑɒɔəɘɚɛɜɝɞɨɪʊʌeiouyøœɤɯʉʏᵻ")
LENGTH_MARKS = set("ːˑ")
NEXT_CLASSES = ("stress mark", "length mark", "vowel", "consonant", "word space", "punctuation")


def symbol_class(symbols, index):
    """The class of ``symbols[index]`` (a list of decoded symbol strings), one of ``CLASSES``."""
    symbol = symbols[index]
    if symbol == " ":
        after_punctuation = index > 0 and symbols[index - 1] in PUNCTUATION
        return "space after punctuation" if after_punctuation else "word space"
    if symbol in PUNCTUATION:
        return "punctuation"
    return "stress mark" if symbol in STRESS_MARKS else "inside a word"


def phone_class(symbols, index):
    """The class of ``symbols[index]`` as a sound, one of ``NEXT_CLASSES``; None for the end
    symbol (decoded as an empty string) or an index past the text."""
    if index >= len(symbols) or not symbols[index]:
        return None
    symbol = symbols[index]
    if symbol == " ":
        return "word space"
    for name, members in (
        ("punctuation", PUNCTUATION),
        ("stress mark", STRESS_MARKS),
        ("length mark", LENGTH_MARKS),
        ("vowel", VOWELS),
    ):
        if symbol in members:
            return name
    return "consonant"


def decode(model, ids):
    """Synthesizes ``ids``: its ``[N, steps]`` step alignment, ``[frames, n_mels]`` mel and
    whether it stopped."""
    result = model.synthesize(np.asarray([ids], np.int32))
    length = int(result["mel_length"][0])
    return {
        "alignment": result["step_alignment"][0].numpy(),
        "mel": result["mel"][0, :length].numpy(),
        "stopped": bool(result["stopped"][0].numpy()),
    }


def long_stalls(alignment):
    """The stall runs of a ``[N, steps]`` alignment longer than the detector's limit, as
    ``(start, length, symbol)``."""
    from ttszoo.evaluation import default_max_stay, stall_runs

    limit = default_max_stay(*alignment.shape)
    return [run for run in stall_runs(alignment) if run[1] > limit]


def symbol_steps(alignment):
    """How many decoder steps each symbol is the furthest one reached (the detector's notion of
    progress) in a ``[N, steps]`` alignment: ``[N]`` int, 0 for a symbol the path jumps over."""
    from ttszoo.evaluation.alignment import alignment_path

    furthest = np.maximum.accumulate(alignment_path(alignment))
    return np.bincount(furthest, minlength=len(alignment))


def teacher_forced_alignment(model, ids, mel):
    """The ``[N, steps]`` alignment of the model's alignment layer teacher-forced on ``mel``
    [frames, n_mels]."""
    outputs = model(
        {
            "text": np.asarray([ids], np.int32),
            "mel": mel[None].astype(np.float32),
            "mel_length": np.asarray([len(mel)], np.int32),
        },
        training=False,
    )
    steps = -(-len(mel) // model.reduction_factor)
    return outputs["alignments"][model.alignment_layer][0].numpy()[:steps].T


def stall_anatomy(stall, symbols, decoded, r, silence_threshold, taught_steps=None):
    """One stall ``(start, length, symbol)`` of a decoding (``decode``'s dict) described: the
    class of the next symbol, the mean frame change during the stall over the utterance's mean
    change, the share of silent frames (mean below ``silence_threshold``), how far the
    alignment's mean position moves from the step that reached the symbol to the stall's last
    step, the mean weight on the held symbol during the stall, and the symbol's teacher-forced
    ``symbol_steps`` (from ``taught_steps``, when given)."""
    start, length, held = stall
    alignment, mel = decoded["alignment"], decoded["mel"]
    weights = alignment / np.maximum(alignment.sum(axis=0), 1e-12)
    position = (weights * np.arange(len(alignment))[:, None]).sum(axis=0)
    frames = mel[start * r : (start + length) * r]
    whole = np.abs(np.diff(mel, axis=0)).mean() if len(mel) > 1 else 0.0
    change = np.abs(np.diff(frames, axis=0)).mean() if len(frames) > 1 else 0.0
    anatomy = {
        "next_class": phone_class(symbols, held + 1),
        "relative_frame_change": float(change / whole) if whole > 0 else None,
        "silent_share": float((frames.mean(axis=1) < silence_threshold).mean()),
        "position_advance": float(position[start + length - 1] - position[max(start - 1, 0)]),
        "held_weight": float(weights[held, start : start + length].mean()),
    }
    if taught_steps is not None:
        anatomy["teacher_forced_steps"] = int(taught_steps[held])
    return anatomy


def control_start(ids, symbol, space_id):
    """Index of the first symbol after the last word space at least ``CONTROL_CONTEXT`` symbols
    before ``symbol``; None when there is none (the stall is near the start of the text)."""
    for index in range(symbol - CONTROL_CONTEXT, 0, -1):
        if ids[index] == space_id:
            return index + 1
    return None


def stalls_of_sentence(model, tokenizer, sentence, control, space_id, reference_mel=None):
    """One sentence's row: its long stalls, the class of each held symbol and, with
    ``control``, whether the first stall recurs in the text restarted shortly before it. With
    ``reference_mel`` [frames, n_mels] (the reference's normalised mel) each stall's
    ``stall_anatomy`` and the ``symbol_steps`` of all the sentence's symbols, teacher-forced
    and free-running, are added."""
    ids = tokenizer.encode(sentence)
    symbols = [tokenizer.decode([index]) for index in ids]
    decoded = decode(model, ids)
    row = {
        "sentence": sentence,
        "symbols": len(ids),
        "steps": decoded["alignment"].shape[1],
        "stopped": decoded["stopped"],
        "stalls": long_stalls(decoded["alignment"]),
    }
    row["classes"] = [symbol_class(symbols, symbol) for _, _, symbol in row["stalls"]]
    if reference_mel is not None:
        from ttszoo.evaluation import alignment_report

        taught_alignment = teacher_forced_alignment(model, ids, reference_mel)
        taught = symbol_steps(taught_alignment)
        row["teacher_forced_stall"] = alignment_report(taught_alignment)["stall"]
        row["phone_classes"] = [phone_class(symbols, index) for index in range(len(ids))]
        row["teacher_forced_steps"] = taught.tolist()
        row["free_running_steps"] = symbol_steps(decoded["alignment"]).tolist()
        row["anatomy"] = [
            stall_anatomy(
                stall, symbols, decoded, model.reduction_factor, model.silence_threshold, taught
            )
            for stall in row["stalls"]
        ]
    first = row["stalls"][0][2] if row["stalls"] else None
    start = None if first is None or not control else control_start(ids, first, space_id)
    if start is not None:
        again = long_stalls(decode(model, ids[start:])["alignment"])
        row["control"] = {
            "start": start,
            "recurs": any(abs(s + start - first) <= CONTROL_TOLERANCE for _, _, s in again),
        }
    return row


def reference_mel(path, audio_config):
    """The normalised mel [frames, n_mels] of the reference wav at ``path``, as the records
    hold it for training."""
    from ttszoo.audio.io import load_wav
    from ttszoo.audio.spectrogram import compute_features

    return compute_features(load_wav(path, audio_config.sample_rate), audio_config).mel


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


def _mean_steps(rows, key):
    """Mean teacher-forced and free-running ``symbol_steps``, grouped by the class of the
    symbol (``key="held"``) or of the one after it (``key="next"``); the last symbol is left
    out (the end of an utterance may dwell on it)."""
    groups = collections.defaultdict(lambda: ([], []))
    for row in rows:
        classes = row["phone_classes"]
        for index in range(len(classes) - 1):
            name = classes[index] if key == "held" else classes[index + 1]
            if name is not None:
                groups[name][0].append(row["teacher_forced_steps"][index])
                groups[name][1].append(row["free_running_steps"][index])
    return {
        name: {
            "symbols": len(taught),
            "teacher_forced": float(np.mean(taught)),
            "free_running": float(np.mean(free)),
        }
        for name, (taught, free) in groups.items()
    }


def anatomy_summary(rows):
    """The stalls' anatomy pooled over the rows that have one: for each class of the next
    symbol its share of the stalls and of all symbols (the base rate), the teacher-forced steps
    of the stalled symbols and of all symbols (mean), the medians of the relative frame change,
    silent share, position advance and weight on the held symbol, the share of stalls whose
    mean position moves by at least one symbol, the share of rows whose teacher-forced
    alignment the detector flags as a stall (the control), and ``_mean_steps`` by held and by
    next class."""
    rows = [row for row in rows if "anatomy" in row]
    stalls = [item for row in rows for item in row["anatomy"]]
    if not stalls:
        return None
    base = collections.Counter(c for row in rows for c in row["phone_classes"][1:] if c)
    stalled_next = collections.Counter(item["next_class"] for item in stalls)
    total_base = sum(base.values())
    changes = [item["relative_frame_change"] for item in stalls]
    advances = np.array([item["position_advance"] for item in stalls])
    return {
        "stalls": len(stalls),
        "next_class_share": {name: stalled_next[name] / len(stalls) for name in NEXT_CLASSES},
        "next_class_base": {name: base[name] / total_base for name in NEXT_CLASSES},
        "teacher_forced_steps_stalled": float(
            np.mean([item["teacher_forced_steps"] for item in stalls])
        ),
        "teacher_forced_steps_all": float(
            np.mean([steps for row in rows for steps in row["teacher_forced_steps"][:-1]])
        ),
        "relative_frame_change_median": float(np.median([c for c in changes if c is not None])),
        "silent_share_median": float(np.median([item["silent_share"] for item in stalls])),
        "position_advance_median": float(np.median(advances)),
        "position_advance_at_least_one": float((advances >= 1.0).mean()),
        "held_weight_median": float(np.median([item["held_weight"] for item in stalls])),
        "teacher_forced_stalled": float(np.mean([row["teacher_forced_stall"] for row in rows])),
        "steps_by_held_class": _mean_steps(rows, "held"),
        "steps_by_next_class": _mean_steps(rows, "next"),
    }


def anatomy_markdown(anatomy):
    """``anatomy_summary``'s result as the printed tables and sentence."""
    lines = [
        "",
        f"Anatomy of {anatomy['stalls']} stalls:",
        "",
        "| next symbol | share of stalls | share of all symbols |",
        "|---|---:|---:|",
    ]
    for name in NEXT_CLASSES:
        lines.append(
            f"| {name} | {anatomy['next_class_share'][name]:.0%} | "
            f"{anatomy['next_class_base'][name]:.0%} |"
        )
    lines += [
        "",
        f"Teacher-forced decoder steps per symbol, mean: stalled symbols "
        f"{anatomy['teacher_forced_steps_stalled']:.2f}, all symbols "
        f"{anatomy['teacher_forced_steps_all']:.2f}. During a stall, medians: frame change "
        f"{anatomy['relative_frame_change_median']:.2f} of the utterance's mean, silent frames "
        f"{anatomy['silent_share_median']:.0%}, mean position advance "
        f"{anatomy['position_advance_median']:.2f} symbols (at least one symbol in "
        f"{anatomy['position_advance_at_least_one']:.0%} of the stalls), weight on the held "
        f"symbol {anatomy['held_weight_median']:.2f}. Teacher-forced on "
        f"the references, {anatomy['teacher_forced_stalled']:.0%} of these sentences stall.",
    ]
    for key, title in (("held", "held symbol"), ("next", "next symbol")):
        lines += [
            "",
            f"| {title} | symbols | mean steps, teacher-forced | free-running |",
            "|---|---:|---:|---:|",
        ]
        for name, steps in sorted(anatomy[f"steps_by_{key}_class"].items()):
            lines.append(
                f"| {name} | {steps['symbols']} | {steps['teacher_forced']:.2f} | "
                f"{steps['free_running']:.2f} |"
            )
    return "\n".join(lines)


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
    parser.add_argument(
        "--anatomy", action="store_true", help="describe each stall against the references"
    )
    args = parser.parse_args()

    from ttszoo import Synthesizer

    directory = run_dir(args.out, args.variant, args.seed)
    synthesizer = Synthesizer.from_model_dirs(directory / "model")
    model = synthesizer.acoustic.model
    model.hard_inference = args.hard
    model.prenet_noise_seed = args.prenet_noise_seed
    audio = synthesizer.acoustic.audio_config
    sentences = held_out()
    references = sentences_and_references(args.out)[1] if args.anatomy else None
    kept = [i for i, sentence in enumerate(sentences) if len(sentence) >= args.min_characters]
    tokenizer = synthesizer.tokenizer
    space_id = ids_of_space(tokenizer)
    rows = [
        stalls_of_sentence(
            model,
            tokenizer,
            sentences[i],
            not args.no_control,
            space_id,
            reference_mel(references[i], audio) if args.anatomy else None,
        )
        for i in kept
    ]
    seconds_per_step = model.reduction_factor * audio.hop_length / audio.sample_rate
    result = {**summary(rows, seconds_per_step), "step": synthesizer.acoustic.step, "rows": rows}
    anatomy = anatomy_summary(rows)
    if anatomy is not None:
        result["anatomy"] = anatomy
    name = "stalls" + ("_hard" if args.hard else "")
    if args.prenet_noise_seed is not None:
        name += f"_noise{args.prenet_noise_seed}"
    write_json(directory / f"{name}.json", result)
    print(markdown(result) + ("" if anatomy is None else anatomy_markdown(anatomy)))


if __name__ == "__main__":
    main()
