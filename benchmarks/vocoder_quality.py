"""Copy synthesis of trained vocoders and Griffin-Lim on held-out sentences.

Every reference recording's own mel (silence trimmed, the features the models train on) goes
through each vocoder and through Griffin-Lim; the result is compared with the recording by
``ttszoo evaluate``'s distances (docs/evaluation.md): MCD and log-mel L1 along the DTW path.
Per vocoder, averaged over the sentences:

* ``mcd``, ``logmel_l1``: the copy-synthesis distances (what ``ttszoo evaluate`` calls the
  floor of a pipeline with that vocoder);
* ``mcd_ceiling``: the mean distance of the copy synthesis to the *other* sentences'
  references; ``mcd_d_rel = mcd / mcd_ceiling`` (the reference itself is at 0, a waveform
  that keeps nothing of its sentence near 1);
* ``mcd_retrieval``: the share of copy syntheses strictly closer to their own reference than
  to every other one;
* ``seconds_per_second``: vocoding time over audio time (eager calls, one utterance at a time,
  after a warm-up; ``benchmarks/gan_vocoder_speed.py`` measures compiled speed properly).

With ``--curves`` every kept checkpoint of each vocoder is scored too (own distances only), for
learning curves against the Griffin-Lim line. Writes ``vocoder_quality.json``, ``.md``,
``learning_curves.png``, ``spectrograms.png`` and the vocoded wavs under ``--out``.

  python benchmarks/vocoder_quality.py --vocoder vocos=runs/vocos --vocoder hifigan=runs/hifigan \
      --curves --out vocoder_quality

Without ``--references`` eSpeak NG renders the sentences with the demo corpus' voice (the
``demo`` extra), as ``ttszoo evaluate`` does.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from ttszoo import audio
from ttszoo.data.demo_corpus import VOICE, held_out_sentences
from ttszoo.errors import InvalidInputError
from ttszoo.evaluation.evaluator import distance
from ttszoo.evaluation.references import reference_paths, render_references
from ttszoo.evaluation.report import require_matplotlib
from ttszoo.evaluation.scoring import ceilings, retrieved
from ttszoo.evaluation.spectral import utterance_features
from ttszoo.synthesis import mel_to_linear, read_lines
from ttszoo.training.checkpoints import checkpoint_prefix, complete_steps
from ttszoo.training.loading import load_trained_model

METRICS = ("mcd", "logmel_l1")
GRIFFIN_LIM = "griffin_lim"


def griffin_lim_vocoder(audio_config):
    """Normalised mel ``[T, n_mels]`` -> waveform, through the pseudo-inverse mel bank."""

    def vocode(mel):
        linear = mel_to_linear(mel[None].astype(np.float32), audio_config)
        return np.asarray(audio.griffin_lim(linear, audio_config))[0]

    return vocode


def model_vocoder(trained):
    """Normalised mel ``[T, n_mels]`` -> waveform with a trained ``VocoderModel``."""

    def vocode(mel):
        return np.asarray(trained.model.vocode(mel[None].astype(np.float32))["audio"])[0]

    return vocode


def vocode_all(vocode, references, audio_config):
    """Each reference's mel vocoded; returns (waveforms, seconds of compute per second of audio)."""
    vocode(references[0].mel)  # warm-up
    waveforms, compute = [], 0.0
    for reference in references:
        started = time.perf_counter()
        waveforms.append(vocode(reference.mel))
        compute += time.perf_counter() - started
    audio_seconds = sum(len(w) for w in waveforms) / audio_config.sample_rate
    return waveforms, compute / audio_seconds


def own_distances(waveforms, references, audio_config):
    """``{metric: [S]}``: each copy synthesis against its own reference."""
    features = [utterance_features(w, audio_config) for w in waveforms]
    return {
        metric: np.array(
            [distance(metric, f, r) for f, r in zip(features, references, strict=True)]
        )
        for metric in METRICS
    }


def full_scores(waveforms, references, audio_config):
    """Means of the distances, ceilings, d_rel and retrieval of one vocoder's copy syntheses."""
    features = [utterance_features(w, audio_config) for w in waveforms]
    scores = {}
    for metric in METRICS:
        matrix = np.array([[distance(metric, f, r) for r in references] for f in features])
        own, ceiling = np.diag(matrix), ceilings(matrix)
        scores[metric] = float(own.mean())
        scores[f"{metric}_ceiling"] = float(ceiling.mean())
        scores[f"{metric}_d_rel"] = float((own / ceiling).mean())
        scores[f"{metric}_retrieval"] = float(retrieved(matrix).mean())
        scores[f"{metric}_per_sentence"] = own.round(4).tolist()
    return scores


def learning_curve(name, trained, references, audio_config):
    """Own distances at every complete checkpoint of ``trained``'s directory, oldest first
    (the model is left holding the newest one)."""
    checkpoints = trained.directory.checkpoints
    points = []
    for step in complete_steps(checkpoints):
        tf.train.Checkpoint(model=trained.model).read(
            checkpoint_prefix(checkpoints, step)
        ).expect_partial()
        waveforms, _ = vocode_all(model_vocoder(trained), references, audio_config)
        distances = own_distances(waveforms, references, audio_config)
        points.append({"step": step, **{m: float(d.mean()) for m, d in distances.items()}})
        print(f"{name} step {step}: " + ", ".join(f"{m} {points[-1][m]:.3f}" for m in METRICS))
    return points


def load_references(args, out_dir):
    sentences = read_lines(args.sentences) if args.sentences else held_out_sentences()
    if args.references:
        return reference_paths(args.references, len(sentences))
    return render_references(sentences, out_dir / "references", VOICE)


def load_vocoders(specs):
    """``NAME=MODEL_DIR`` strings -> ``{name: TrainedModel}`` sharing one audio config."""
    vocoders = {}
    for spec in specs:
        name, sep, model_dir = spec.partition("=")
        if not sep or not name or name == GRIFFIN_LIM:
            raise InvalidInputError(
                f"--vocoder takes NAME=MODEL_DIR with a name other than {GRIFFIN_LIM!r}, got {spec!r}."
            )
        vocoders[name] = load_trained_model(model_dir)
    configs = {name: trained.audio_config for name, trained in vocoders.items()}
    if len({repr(config) for config in configs.values()}) > 1:
        raise InvalidInputError(
            f"The vocoders were trained on different features: {configs}; compare vocoders "
            "of the same audio settings."
        )
    return vocoders


def write_markdown(path, rows, curves):
    lines = [
        "| vocoder | step | MCD (dB) | log-mel L1 | MCD ceiling | MCD d_rel | MCD retrieval "
        "| seconds per second |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        lines.append(
            f"| {name} | {row['step'] if row['step'] is not None else '–'} | {row['mcd']:.3f} "
            f"| {row['logmel_l1']:.3f} | {row['mcd_ceiling']:.3f} | {row['mcd_d_rel']:.3f} "
            f"| {row['mcd_retrieval']:.0%} | {row['seconds_per_second']:.3f} |"
        )
    for name, points in curves.items():
        lines += ["", f"{name}: step, MCD, log-mel L1", ""]
        lines += [f"- {p['step']}: {p['mcd']:.3f}, {p['logmel_l1']:.3f}" for p in points]
    path.write_text("\n".join(lines) + "\n")


def plot_curves(path, rows, curves):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for axis, metric, label in zip(axes, METRICS, ("MCD (dB)", "log-mel L1"), strict=True):
        for name, points in curves.items():
            axis.plot([p["step"] for p in points], [p[metric] for p in points], "o-", label=name)
        axis.axhline(rows[GRIFFIN_LIM][metric], color="k", linestyle="--", label="Griffin-Lim")
        axis.set(xlabel="training step", ylabel=label, title=f"copy synthesis, {label}")
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_spectrograms(path, reference, waveforms, audio_config, index):
    import matplotlib.pyplot as plt

    panels = [("reference", reference.mel)]
    panels += [(n, utterance_features(w[index], audio_config).mel) for n, w in waveforms.items()]
    figure, axes = plt.subplots(len(panels), 1, figsize=(9, 1.9 * len(panels)), sharex=True)
    for axis, (name, mel) in zip(axes, panels, strict=True):
        axis.imshow(mel.T, origin="lower", aspect="auto", vmin=0, vmax=1, cmap="magma")
        axis.set_ylabel("mel band")
        axis.set_title(name, fontsize=9)
    axes[-1].set_xlabel("frame")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vocoder", action="append", default=[], help="NAME=MODEL_DIR")
    parser.add_argument("--sentences", help="one per line (default: the demo's held-out ones)")
    parser.add_argument("--references", help="folder of 0001.wav ... (else eSpeak NG)")
    parser.add_argument("--curves", action="store_true", help="score every kept checkpoint")
    parser.add_argument("--picture_sentence", type=int, default=1, help="1-based")
    parser.add_argument("--out", default="vocoder_quality")
    args = parser.parse_args()
    if not args.vocoder:
        parser.error("give at least one --vocoder NAME=MODEL_DIR")
    require_matplotlib()
    out_dir = Path(args.out)
    vocoders = load_vocoders(args.vocoder)
    audio_config = next(iter(vocoders.values())).audio_config
    references = [
        utterance_features(audio.load_wav(path, audio_config.sample_rate), audio_config)
        for path in load_references(args, out_dir)
    ]
    functions = {GRIFFIN_LIM: griffin_lim_vocoder(audio_config)}
    functions.update({name: model_vocoder(trained) for name, trained in vocoders.items()})
    rows, waveforms = {}, {}
    for name, vocode in functions.items():
        waveforms[name], speed = vocode_all(vocode, references, audio_config)
        step = vocoders[name].step if name in vocoders else None
        rows[name] = {"step": step, "seconds_per_second": speed}
        rows[name].update(full_scores(waveforms[name], references, audio_config))
        print(f"{name}: MCD {rows[name]['mcd']:.3f}, log-mel L1 {rows[name]['logmel_l1']:.3f}")
        for index, waveform in enumerate(waveforms[name], start=1):
            audio.save_wav(out_dir / "wavs" / name / f"{index:04d}.wav", waveform,
                           audio_config.sample_rate)  # fmt: skip
    curves = {}
    if args.curves:
        curves = {n: learning_curve(n, t, references, audio_config) for n, t in vocoders.items()}
        plot_curves(out_dir / "learning_curves.png", rows, curves)
    index = args.picture_sentence - 1
    plot_spectrograms(
        out_dir / "spectrograms.png", references[index], waveforms, audio_config, index
    )
    (out_dir / "vocoder_quality.json").write_text(
        json.dumps({"rows": rows, "curves": curves, "sentences": args.sentences or "held-out"})
    )
    write_markdown(out_dir / "vocoder_quality.md", rows, curves)
    print((out_dir / "vocoder_quality.md").read_text())


if __name__ == "__main__":
    main()
