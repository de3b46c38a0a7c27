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

Any trained ``VocoderModel`` of the same audio settings takes part: one that returns audio
(HiFi-GAN, Vocos, WaveGrad, WaveNet) or one that predicts a linear spectrogram, which
Griffin-Lim turns into audio (DCTTS' SSRN; the mel is padded with silence to a multiple of its
reduction factor and the frames added are dropped). ``NAME=MODEL_DIR@N`` runs a diffusion
vocoder with the named ``N``-iteration inference schedule instead of its own (the schedule
``ttszoo schedule-search`` stored in the directory, else the named one of its
``inference_iterations``).

With ``--curves`` every kept checkpoint of each vocoder (or of the vocoders named after it) is
scored too (own distances only), for learning curves against the Griffin-Lim line; a line
``a + b * ln(step)`` fitted to the second half of each curve says at which step it would reach
Griffin-Lim (an extrapolation, drawn dashed). Writes ``vocoder_quality.json``, ``.md``,
``learning_curves.png``, ``spectrograms.png`` and the vocoded wavs under ``--out``.

  python benchmarks/vocoder_quality.py --vocoder vocos=runs/vocos --vocoder hifigan=runs/hifigan \
      --curves --out vocoder_quality
  python benchmarks/vocoder_quality.py --vocoder wavegrad_6=runs/wavegrad@6 \
      --vocoder wavegrad_50=runs/wavegrad@50 --vocoder ssrn=runs/ssrn --curves wavegrad_6

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
from ttszoo.diffusion.schedules import NoiseSchedule
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


def model_vocoder(trained, iterations=None):
    """Normalised mel ``[T, n_mels]`` -> waveform with a trained ``VocoderModel``: its audio, or
    Griffin-Lim of the linear spectrogram it predicts. ``iterations``: a diffusion vocoder's
    named inference schedule of that many steps (None: the model's own)."""
    model, config = trained.model, trained.audio_config
    multiple = getattr(model, "reduction_factor", 1)  # SSRN reads every r-th frame
    options = {} if iterations is None else {"schedule": NoiseSchedule.inference(iterations)}

    def vocode(mel):
        frames = len(mel)
        padded = np.pad(mel, [(0, -frames % multiple), (0, 0)]).astype(np.float32)
        outputs = model.vocode(padded[None], **options)
        if "audio" in outputs:
            return np.asarray(outputs["audio"])[0]
        linear = tf.convert_to_tensor(outputs["linear"])[:, :frames]
        return np.asarray(audio.griffin_lim(linear, config))[0]

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


def learning_curve(name, vocoder, references, audio_config):
    """Own distances at every complete checkpoint of ``vocoder``'s directory, oldest first
    (the model is left holding the newest one)."""
    trained, iterations = vocoder
    checkpoints = trained.directory.checkpoints
    points = []
    for step in complete_steps(checkpoints):
        tf.train.Checkpoint(model=trained.model).read(
            checkpoint_prefix(checkpoints, step)
        ).expect_partial()
        waveforms, _ = vocode_all(model_vocoder(trained, iterations), references, audio_config)
        distances = own_distances(waveforms, references, audio_config)
        points.append({"step": step, **{m: float(d.mean()) for m, d in distances.items()}})
        print(f"{name} step {step}: " + ", ".join(f"{m} {points[-1][m]:.3f}" for m in METRICS))
    return points


def crossing_step(points, metric, target):
    """The step at which ``a + b * ln(step)``, least-squares fitted to the second half of the
    curve ``points`` (at least 2 points), reaches ``target``: ``{"step", "a", "b"}``, the step
    None when the fitted line does not fall or the curve is already at ``target`` or below."""
    tail = points[len(points) // 2 :]
    steps = np.array([p["step"] for p in tail], np.float64)
    values = np.array([p[metric] for p in tail], np.float64)
    if len(tail) < 2 or np.any(steps <= 0):
        raise InvalidInputError(
            f"An extrapolation needs at least 2 checkpoints after step 0 in the curve's second "
            f"half, got steps {steps.tolist()}; keep more checkpoints (train.keep_checkpoints)."
        )
    b, a = np.polyfit(np.log(steps), values, 1)
    step = None if b >= 0 or values[-1] <= target else float(np.exp((target - a) / b))
    return {"step": step, "a": float(a), "b": float(b)}


def score_curves(names, vocoders, rows, references):
    """Learning curves of the vocoders ``names`` and, per metric, where each would reach
    Griffin-Lim (``crossing_step``)."""
    audio_config = vocoders[names[0]][0].audio_config
    curves = {n: learning_curve(n, vocoders[n], references, audio_config) for n in names}
    crossings = {
        name: {m: crossing_step(points, m, rows[GRIFFIN_LIM][m]) for m in METRICS}
        for name, points in curves.items()
    }
    return curves, crossings


def load_references(args, out_dir):
    sentences = read_lines(args.sentences) if args.sentences else held_out_sentences()
    if args.references:
        return reference_paths(args.references, len(sentences))
    return render_references(sentences, out_dir / "references", VOICE)


def parse_spec(spec):
    """``NAME=MODEL_DIR[@N]`` -> ``(name, model_dir, N or None)``; clear errors."""
    name, sep, target = spec.partition("=")
    if not sep or not name or not target or name == GRIFFIN_LIM:
        raise InvalidInputError(
            f"--vocoder takes NAME=MODEL_DIR[@ITERATIONS] with a name other than "
            f"{GRIFFIN_LIM!r}, got {spec!r}."
        )
    model_dir, at, iterations = target.rpartition("@") if "@" in target else (target, "", "")
    if at and not iterations.isdigit():
        raise InvalidInputError(
            f"--vocoder {spec!r}: what follows '@' must be a number of diffusion iterations."
        )
    return name, model_dir, int(iterations) if at else None


def load_vocoders(specs):
    """``NAME=MODEL_DIR[@N]`` strings -> ``{name: (TrainedModel, N or None)}`` sharing one
    audio config."""
    vocoders = {}
    for spec in specs:
        name, model_dir, iterations = parse_spec(spec)
        trained = load_trained_model(model_dir)
        if iterations is not None and not hasattr(trained.model, "set_inference_schedule"):
            raise InvalidInputError(
                f"--vocoder {spec!r}: only a diffusion vocoder takes @ITERATIONS; "
                f"{type(trained.model).__name__} has no inference schedule."
            )
        vocoders[name] = (trained, iterations)
    configs = {name: trained.audio_config for name, (trained, _) in vocoders.items()}
    if len({repr(config) for config in configs.values()}) > 1:
        raise InvalidInputError(
            f"The vocoders were trained on different features: {configs}; compare vocoders "
            "of the same audio settings."
        )
    return vocoders


def write_markdown(path, rows, curves, crossings):
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
        for metric, fit in crossings[name].items():
            target = rows[GRIFFIN_LIM][metric]
            if points[-1][metric] <= target:
                reach = "the last checkpoint is already at or below Griffin-Lim"
            elif fit["step"] is None:
                reach = "the fitted line never reaches Griffin-Lim"
            else:
                reach = f"the fitted line reaches Griffin-Lim at step {fit['step']:.0f}"
            lines.append(
                f"- {metric}: {reach} ({target:.3f}; fit {fit['a']:.3f} + {fit['b']:.3f} "
                "ln(step) over the second half of the curve, an extrapolation)"
            )
    path.write_text("\n".join(lines) + "\n")


def plot_curves(path, rows, curves, crossings):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for axis, metric, label in zip(axes, METRICS, ("MCD (dB)", "log-mel L1"), strict=True):
        for name, points in curves.items():
            steps = [p["step"] for p in points]
            (line,) = axis.plot(steps, [p[metric] for p in points], "o-", label=name)
            fit = crossings[name][metric]
            end = steps[-1] if fit["step"] is None else min(fit["step"], 100 * steps[-1])
            fitted = np.geomspace(steps[len(steps) // 2], max(end, steps[-1]), 50)
            axis.plot(fitted, fit["a"] + fit["b"] * np.log(fitted), "--", color=line.get_color())
        axis.axhline(rows[GRIFFIN_LIM][metric], color="k", linestyle="--", label="Griffin-Lim")
        axis.set_xscale("log")
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


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vocoder", action="append", default=[], help="NAME=MODEL_DIR[@N]")
    parser.add_argument("--sentences", help="one per line (default: the demo's held-out ones)")
    parser.add_argument("--references", help="folder of 0001.wav ... (else eSpeak NG)")
    parser.add_argument(
        "--curves", nargs="*", metavar="NAME",
        help="score every kept checkpoint (of the vocoders named; none named: of all)",
    )  # fmt: skip
    parser.add_argument("--picture_sentence", type=int, default=1, help="1-based")
    parser.add_argument("--out", default="vocoder_quality")
    args = parser.parse_args()
    if not args.vocoder:
        parser.error("give at least one --vocoder NAME=MODEL_DIR")
    unknown = sorted(set(args.curves or ()) - {parse_spec(v)[0] for v in args.vocoder})
    if unknown:
        parser.error(f"--curves names {unknown}, which no --vocoder names")
    return args


def main():
    args = parse_arguments()
    require_matplotlib()
    out_dir = Path(args.out)
    vocoders = load_vocoders(args.vocoder)
    audio_config = next(iter(vocoders.values()))[0].audio_config
    references = [
        utterance_features(audio.load_wav(path, audio_config.sample_rate), audio_config)
        for path in load_references(args, out_dir)
    ]
    functions = {GRIFFIN_LIM: griffin_lim_vocoder(audio_config)}
    functions.update({name: model_vocoder(*vocoder) for name, vocoder in vocoders.items()})
    rows, waveforms = {}, {}
    for name, vocode in functions.items():
        waveforms[name], speed = vocode_all(vocode, references, audio_config)
        step = vocoders[name][0].step if name in vocoders else None
        rows[name] = {"step": step, "seconds_per_second": speed}
        rows[name].update(full_scores(waveforms[name], references, audio_config))
        print(f"{name}: MCD {rows[name]['mcd']:.3f}, log-mel L1 {rows[name]['logmel_l1']:.3f}")
        for index, waveform in enumerate(waveforms[name], start=1):
            audio.save_wav(out_dir / "wavs" / name / f"{index:04d}.wav", waveform,
                           audio_config.sample_rate)  # fmt: skip
    curves, crossings = {}, {}
    if args.curves is not None:
        curves, crossings = score_curves(args.curves or list(vocoders), vocoders, rows, references)
        plot_curves(out_dir / "learning_curves.png", rows, curves, crossings)
    index = args.picture_sentence - 1
    plot_spectrograms(
        out_dir / "spectrograms.png", references[index], waveforms, audio_config, index
    )
    results = {"rows": rows, "curves": curves, "crossings": crossings}
    results["sentences"] = args.sentences or "held-out"
    (out_dir / "vocoder_quality.json").write_text(json.dumps(results))
    write_markdown(out_dir / "vocoder_quality.md", rows, curves, crossings)
    print((out_dir / "vocoder_quality.md").read_text())


if __name__ == "__main__":
    main()
