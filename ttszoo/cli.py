"""The ``ttszoo`` command: ``ttszoo <command> [--flags]``.

Commands:
  corpus       speak the eSpeak NG demo corpus into an LJSpeech-format folder
  preprocess   turn an LJSpeech-format corpus into TFRecord shards plus features.json
  train        train (or resume) a gin-configured model into a model directory
  synthesize   text (or a file of lines) to wav with trained model directories
  export       write a trained pipeline as a TensorFlow SavedModel for serving
  evaluate     score a trained model on sentences against reference recordings
  schedule-search  find a few-step noise schedule for a trained diffusion vocoder
  check        verify a model directory: checkpoints, features.json, operative config
  models       list the registered models

``ttszoo <command> --help`` explains every flag of a command. Every command takes
``--verbose``: TensorFlow's start-up lines and ttszoo's debug logs (with the traceback of a
user error) are shown only then. An error in the user's input (a ``ttszoo.errors.TTSZooError``)
is printed as one line with exit status 1; any other exception keeps its traceback.
"""

import dataclasses
import difflib
import os
import re
import sys
from collections.abc import Callable

from absl import app, flags, logging

from ttszoo.errors import InvalidInputError, TTSZooError


@dataclasses.dataclass
class Command:
    """One subcommand: its one-line summary, its flag definitions and what it runs."""

    name: str
    summary: str
    define_flags: Callable
    execute: Callable

    def new_flags(self):
        """A fresh ``FlagValues`` holding this command's flags (and ``--verbose``)."""
        fv = flags.FlagValues()
        self.define_flags(fv)
        flags.DEFINE_boolean(
            "verbose",
            False,
            "Show TensorFlow's start-up lines, debug logs and the traceback of an error.",
            flag_values=fv,
        )
        return fv


def _gin_flags(fv):
    flags.DEFINE_multi_string(
        "gin_file",
        [],
        "A gin file: a packaged name such as 'optimization/adam_noam.gin' or a path. Repeatable; later files override earlier ones.",
        flag_values=fv,
    )
    flags.DEFINE_multi_string(
        "gin_param",
        [],
        "A gin binding such as 'train.steps=20000'. Repeatable; applied after the files.",
        flag_values=fv,
    )
    flags.DEFINE_multi_string(
        "gin_search_path",
        [],
        "A folder in which gin file names and include lines also resolve. Repeatable.",
        flag_values=fv,
    )


def _parse_gin(fv, operative_config=None):
    from ttszoo.training.gin_config import parse_gin

    parse_gin(fv.gin_file, fv.gin_param, fv.gin_search_path, operative_config=operative_config)


# corpus


def _corpus_flags(fv):
    flags.DEFINE_string(
        "out",
        None,
        "Where to write the corpus (default: the cache folder of ttszoo.data.default_corpus_dir()).",
        flag_values=fv,
    )
    flags.DEFINE_enum(
        "size",
        "small",
        ["small", "large"],
        "small: the 332 hand-written sentences (about 13 minutes of speech); large: those plus "
        "generated sentences, 3000 in all (see docs/data.md).",
        flag_values=fv,
    )
    flags.DEFINE_integer(
        "limit", None, "Speak only the first LIMIT sentences.", lower_bound=1, flag_values=fv
    )
    flags.DEFINE_list(
        "voices",
        None,
        "Several eSpeak NG voices, comma-separated (e.g. en-us,en-us+f3,en-gb-scotland), for a "
        "multi-speaker corpus: each voice speaks every sentence, its name is the speaker column.",
        flag_values=fv,
    )


def _corpus(fv):
    from ttszoo.data import build_demo_corpus

    path = build_demo_corpus(fv.out, limit=fv.limit, size=fv.size, voices=fv.voices)
    print(f"Demo corpus ready in {path}")


# preprocess


def _preprocess_flags(fv):
    flags.DEFINE_string(
        "corpus_dir", None, "An LJSpeech-format folder (metadata.csv and wavs/).", flag_values=fv
    )
    flags.DEFINE_string(
        "out_dir", None, "Where to write the TFRecord shards and features.json.", flag_values=fv
    )
    flags.DEFINE_enum(
        "symbols",
        "characters",
        ["characters", "phonemes"],
        "Text symbols: characters, or eSpeak NG phonemes (needs the demo extra).",
        flag_values=fv,
    )
    flags.DEFINE_integer(
        "num_shards", 2, "TFRecord shards per split.", lower_bound=1, flag_values=fv
    )
    flags.DEFINE_integer(
        "num_workers",
        None,
        "Feature-extraction processes (default: the CPU count).",
        lower_bound=1,
        flag_values=fv,
    )
    _gin_flags(fv)
    flags.mark_flags_as_required(["corpus_dir", "out_dir"], flag_values=fv)


def _preprocess(fv):
    import gin
    from ttszoo.audio import AudioConfig
    from ttszoo.data import preprocess_corpus
    from ttszoo.text import Tokenizer

    _parse_gin(fv)
    summary = preprocess_corpus(
        fv.corpus_dir,
        fv.out_dir,
        audio_config=gin.get_configurable(AudioConfig)(),
        tokenizer=gin.get_configurable(Tokenizer)(symbols=fv.symbols),
        num_shards=fv.num_shards,
        num_workers=fv.num_workers,
    )
    if summary.skipped:
        print(f"{len(summary.skipped)} items were skipped; features.json lists them.")


# train


def _train_flags(fv):
    flags.DEFINE_string(
        "model_dir",
        None,
        "The model directory: resumed if it holds checkpoints, started otherwise.",
        flag_values=fv,
    )
    flags.DEFINE_string(
        "records_dir",
        None,
        "Preprocessed records (the --out_dir of `ttszoo preprocess`); overrides train.records_dir.",
        flag_values=fv,
    )
    flags.DEFINE_integer(
        "steps", None, "Total training steps; overrides train.steps.", lower_bound=1, flag_values=fv
    )
    flags.DEFINE_string(
        "tpu",
        None,
        "Train on a TPU: 'local' on a Colab / Cloud TPU VM, or a TPU name or grpc:// address.",
        flag_values=fv,
    )
    _gin_flags(fv)
    flags.mark_flag_as_required("model_dir", flag_values=fv)


def _train(fv):
    import gin
    from ttszoo.training import ModelDirectory, train

    _parse_gin(fv, operative_config=ModelDirectory(fv.model_dir).operative_config())
    if fv.steps is None:
        try:
            gin.query_parameter("train.steps")
        except ValueError:
            raise InvalidInputError(
                "No step count: pass --steps N, or set train.steps in a --gin_file recipe."
            ) from None
    overrides = {
        name: getattr(fv, name)
        for name in ("records_dir", "steps")
        if getattr(fv, name) is not None
    }
    logs = train(model_dir=fv.model_dir, tpu=fv.tpu, **overrides)
    print(f"Trained {fv.model_dir} to step {logs['step']}.")


# the models of synthesize, export and evaluate


def _model_flags(fv, vocoder_default):
    """--acoustic, --vocoder and --griffin_lim_iters: the models of synthesize, export and
    evaluate."""
    flags.DEFINE_string(
        "acoustic", None, "The acoustic model directory (text -> spectrogram).", flag_values=fv
    )
    flags.DEFINE_string(
        "vocoder",
        None,
        f"The vocoder model directory (default: {vocoder_default}).",
        flag_values=fv,
    )
    flags.DEFINE_integer(
        "griffin_lim_iters",
        None,
        "Griffin-Lim iterations (default: the model's audio config).",
        lower_bound=1,
        flag_values=fv,
    )


# synthesize


def _synthesize_flags(fv):
    _model_flags(fv, vocoder_default="Griffin-Lim")
    flags.DEFINE_string(
        "text",
        None,
        "The text to speak: a sentence or a whole paragraph (split into sentences, long ones at "
        "commas, semicolons, colons and dashes, joined with short pauses); --out is then a .wav "
        "path.",
        flag_values=fv,
    )
    flags.DEFINE_float(
        "sentence_pause",
        0.25,
        "Seconds of silence after each sentence of --text.",
        lower_bound=0.0,
        flag_values=fv,
    )
    flags.DEFINE_float(
        "clause_pause",
        0.1,
        "Seconds of silence where --text splits an over-long sentence at a clause.",
        lower_bound=0.0,
        flag_values=fv,
    )
    flags.DEFINE_string(
        "text_file",
        None,
        "A UTF-8 file with one text per line; --out is then a folder of 0001.wav, 0002.wav ...",
        flag_values=fv,
    )
    flags.DEFINE_string(
        "out",
        None,
        "The output audio file (--text; .wav, .flac or .ogg) or folder (--text_file).",
        flag_values=fv,
    )
    flags.DEFINE_string(
        "speaker",
        None,
        "For models conditioned on speakers: a speaker name of the training features.json, or an id.",
        flag_values=fv,
    )
    flags.mark_flags_as_required(["acoustic", "out"], flag_values=fv)
    flags.mark_flags_as_mutual_exclusive(["text", "text_file"], required=True, flag_values=fv)


def _synthesize(fv):
    from ttszoo.audio.io import check_audio_path
    from ttszoo.synthesis import Synthesizer

    if fv.text is not None:
        check_audio_path(fv.out)  # before the models load

    synthesizer = Synthesizer.from_model_dirs(fv.acoustic, fv.vocoder, fv.griffin_lim_iters)
    if fv.text is not None:
        from ttszoo.audio import save_wav

        waveform, sample_rate = synthesizer.synthesize_paragraph(
            fv.text,
            sentence_pause=fv.sentence_pause,
            clause_pause=fv.clause_pause,
            speaker=fv.speaker,
        )
        print(f"Wrote {save_wav(fv.out, waveform, sample_rate)}")
    else:
        paths = synthesizer.synthesize_file(fv.text_file, fv.out, speaker=fv.speaker)
        print(f"Wrote {len(paths)} files to {fv.out}")


# export


def _export_flags(fv):
    _model_flags(fv, vocoder_default="Griffin-Lim in the graph")
    flags.DEFINE_string("out", None, "The SavedModel folder to write.", flag_values=fv)
    flags.mark_flags_as_required(["acoustic", "out"], flag_values=fv)


def _export(fv):
    from ttszoo.export import export_saved_model

    export_saved_model(
        fv.acoustic, fv.out, vocoder_dir=fv.vocoder, griffin_lim_iters=fv.griffin_lim_iters
    )
    print(f"Exported a SavedModel to {fv.out}")


# evaluate


def _evaluate_flags(fv):
    _model_flags(fv, vocoder_default="Griffin-Lim")
    flags.DEFINE_string(
        "sentences",
        None,
        "A UTF-8 file with one sentence per line (at least 2), e.g. "
        "ttszoo/data/demo_heldout_sentences.txt.",
        flag_values=fv,
    )
    flags.DEFINE_string(
        "references",
        None,
        "A folder with one reference wav per sentence, named by line number: 0001.wav, "
        "0002.wav ... (default: eSpeak NG renders them, see --espeak_voice).",
        flag_values=fv,
    )
    flags.DEFINE_string(
        "espeak_voice",
        None,
        "Render the references with this eSpeak NG voice and the demo corpus' settings "
        "(default when --references is not given: the demo corpus' voice, en-us).",
        flag_values=fv,
    )
    flags.DEFINE_string(
        "out",
        None,
        "The output folder: report.md, report.json, synthesized/, pictures/ (and references/).",
        flag_values=fv,
    )
    flags.DEFINE_integer(
        "mcd_order",
        24,
        "Mel-cepstral coefficients 1..MCD_ORDER enter the mel-cepstral distortion.",
        lower_bound=1,
        flag_values=fv,
    )
    flags.DEFINE_bool(
        "plots", True, "Write one picture per sentence (needs matplotlib).", flag_values=fv
    )
    flags.DEFINE_enum(
        "forcing",
        "on",
        ["on", "off", "both"],
        "Inference-time attention forcing (DCTTS' forcibly incremental attention): as the "
        "model is configured (on), switched off to judge its own attention (off), or both, "
        "side by side in OUT/comparison.md.",
        flag_values=fv,
    )
    flags.mark_flags_as_required(["acoustic", "sentences", "out"], flag_values=fv)
    flags.mark_flags_as_mutual_exclusive(["references", "espeak_voice"], flag_values=fv)


def _evaluate(fv):
    from ttszoo.evaluation import evaluate

    result = evaluate(
        fv.acoustic,
        fv.sentences,
        fv.out,
        vocoder=fv.vocoder,
        references=fv.references,
        espeak_voice=fv.espeak_voice,
        griffin_lim_iters=fv.griffin_lim_iters,
        order=fv.mcd_order,
        plots=fv.plots,
        forcing=fv.forcing,
    )
    if fv.forcing == "both":
        for setting in ("on", "off"):
            print(f"Forcing {setting}: " + _evaluation_line(result[setting]["summary"]["all"]))
    else:
        print(_evaluation_line(result["summary"]["all"]))
    print(f"Report: {result['report']}")


def _evaluation_line(overall):
    return (
        f"{overall['sentences']} sentences: {overall['forced_fraction']:.1%} forced steps, "
        f"{overall['step_guard_stops']} stopped by the step guard, "
        f"{overall['alignment_failures']} with alignment failures, MCD {overall['mcd']:.2f} dB "
        f"(d_rel {overall['mcd_d_rel']:.2f}), retrieval {overall['mcd_retrieval']:.0%}."
    )


# check


def _check_flags(fv):
    flags.DEFINE_string("model_dir", None, "The model directory to verify.", flag_values=fv)
    flags.mark_flag_as_required("model_dir", flag_values=fv)


def _check(fv):
    from ttszoo.training.verify import verify_model_directory

    findings = verify_model_directory(fv.model_dir)
    for finding in findings:
        print(finding)
    problems = sum(finding.problem is not None for finding in findings)
    if problems:
        print(f"{fv.model_dir}: {problems} problem(s).")
        return 1
    print(f"{fv.model_dir}: every file checked is usable.")
    return 0


# models


def _models_flags(fv):
    flags.DEFINE_enum(
        "family", None, ["acoustic", "vocoder"], "List only this family.", flag_values=fv
    )


def _models(fv):
    from ttszoo.model_catalog import built_in_models

    entries = {entry.name: entry for entry in built_in_models()}
    registry = sys.modules.get("ttszoo.models.registry")
    if registry is not None:  # models registered in this process (plugins, tests), no import
        entries.update({info.name: info for info in registry.list_models()})
    infos = [
        entry
        for _, entry in sorted(entries.items())
        if fv.family is None or entry.family == fv.family
    ]
    if not infos:
        print("No models are registered.")
        return
    width = max(len(info.name) for info in infos)
    for info in infos:
        print(
            f"{info.name:<{width}}  {info.family:<8}  {info.paper}\n{'':<{width}}  {info.description}"
        )


# schedule-search


def _schedule_search_flags(fv):
    flags.DEFINE_string(
        "model_dir", None, "A trained diffusion vocoder (WaveGrad) model directory.", flag_values=fv
    )
    flags.DEFINE_integer(
        "iterations",
        6,
        "Denoising iterations of the schedule to find.",
        lower_bound=1,
        flag_values=fv,
    )
    flags.DEFINE_string(
        "records_dir",
        None,
        "Records whose validation split holds the held-out utterances (default: the training records).",
        flag_values=fv,
    )
    flags.DEFINE_integer(
        "utterances", 4, "Held-out utterances scored per candidate.", lower_bound=1, flag_values=fv
    )
    flags.DEFINE_integer(
        "max_frames",
        128,
        "Score the first MAX_FRAMES frames of each.",
        lower_bound=8,
        flag_values=fv,
    )
    flags.DEFINE_enum(
        "grid",
        "mantissa",
        ["mantissa", "wavegrad"],
        "Candidates: lmnt-com/wavegrad's mantissa x exponent grid or ivanvovk/WaveGrad's digit grid.",
        flag_values=fv,
    )
    flags.DEFINE_integer(
        "search_level", 3, "Mantissas per step of the mantissa grid.", lower_bound=1, flag_values=fv
    )
    flags.DEFINE_integer(
        "max_candidates",
        None,
        "Score a seeded random subset of this many grid candidates (plus the named schedule).",
        lower_bound=1,
        flag_values=fv,
    )
    flags.DEFINE_integer("seed", 0, "Seed of the sampling noise and the subset.", flag_values=fv)
    flags.mark_flag_as_required("model_dir", flag_values=fv)


def _schedule_search(fv):
    from ttszoo.training.loading import load_trained_model
    from ttszoo.training.schedule_search import search_model_schedule

    result = search_model_schedule(
        load_trained_model(fv.model_dir),
        iterations=fv.iterations,
        records_dir=fv.records_dir,
        utterances=fv.utterances,
        max_frames=fv.max_frames,
        grid=fv.grid,
        search_level=fv.search_level,
        max_candidates=fv.max_candidates,
        seed=fv.seed,
    )
    betas = ", ".join(f"{b:.4g}" for b in result["betas"])
    named = result["named_schedule_score"]
    reference = "" if named is None else f" (named wavegrad-{fv.iterations}: {named:.4f})"
    print(
        f"Best of {result['candidates']} schedules: [{betas}], log-mel distance "
        f"{result['score']:.4f}{reference}. Saved to {result['path']}"
    )


COMMANDS = {
    command.name: command
    for command in (
        Command(
            "corpus",
            "speak the eSpeak NG demo corpus into an LJSpeech-format folder",
            _corpus_flags,
            _corpus,
        ),
        Command(
            "preprocess",
            "turn an LJSpeech-format corpus into TFRecord shards plus features.json",
            _preprocess_flags,
            _preprocess,
        ),
        Command(
            "train",
            "train (or resume) a gin-configured model into a model directory",
            _train_flags,
            _train,
        ),
        Command(
            "synthesize",
            "text (or a file of lines) to wav with trained model directories",
            _synthesize_flags,
            _synthesize,
        ),
        Command(
            "export",
            "write a trained pipeline as a TensorFlow SavedModel for serving",
            _export_flags,
            _export,
        ),
        Command(
            "evaluate",
            "score a trained model on sentences against reference recordings",
            _evaluate_flags,
            _evaluate,
        ),
        Command(
            "check",
            "verify a model directory: checkpoints, features.json, operative config",
            _check_flags,
            _check,
        ),
        Command("models", "list the registered models", _models_flags, _models),
        Command(
            "schedule-search",
            "find a few-step noise schedule for a trained diffusion vocoder",
            _schedule_search_flags,
            _schedule_search,
        ),
    )
}


def usage():
    lines = ["usage: ttszoo <command> [--flags]", "", "commands:"]
    lines += [f"  {c.name:<11} {c.summary}" for c in COMMANDS.values()]
    lines += ["", "`ttszoo <command> --help` explains every flag of a command."]
    return "\n".join(lines)


def parse_command_line(argv):
    """Returns ``(command, parsed FlagValues)``; prints help and exits on ``--help``.

    Raises:
      app.UsageError: for an unknown command or bad flags.
    """
    if len(argv) < 2 or argv[1] in ("-h", "--help", "help"):
        print(usage())
        raise SystemExit(0)
    name = argv[1]
    if name not in COMMANDS:
        close = difflib.get_close_matches(name, list(COMMANDS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise app.UsageError(f"Unknown command {name!r}.{hint}\n\n{usage()}")
    command = COMMANDS[name]
    fv = command.new_flags()
    rest = argv[2:]
    if any(arg in ("-h", "--help", "-help", "--helpshort") for arg in rest):
        print(
            f"usage: ttszoo {name} [--flags]\n\n{command.summary}\n\n{fv.get_help(include_special_flags=False)}"
        )
        raise SystemExit(0)
    try:
        remaining = fv([f"ttszoo {name}", *rest])
        fv.validate_all_flags()
    except flags.Error as error:
        raise app.UsageError(f"ttszoo {name}: {error}") from None
    if len(remaining) > 1:
        raise app.UsageError(
            f"ttszoo {name}: unexpected arguments {remaining[1:]}; every input is a --flag."
        )
    return command, fv


def _set_verbosity(verbose, needs_tensorflow):
    """Silences TensorFlow's C++ start-up lines unless ``verbose``.

    ``TF_CPP_MIN_LOG_LEVEL`` (kept when the user set it) silences TensorFlow's later C++ logs,
    but the lines printed while its libraries load (oneDNN, CUDA probes) come before its log
    settings take effect, so TensorFlow is imported here with file descriptor 2 pointed at
    /dev/null. An import error still raises, with its traceback, after stderr is restored.
    """
    if verbose:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
        logging.set_verbosity(logging.DEBUG)
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.set_verbosity(logging.INFO)
    if not needs_tensorflow or "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def main(argv):
    """Runs the command of ``argv`` (``["ttszoo", command, flags...]``); returns the exit code."""
    try:
        command, fv = parse_command_line(argv)
    except app.UsageError as error:
        print(error, file=sys.stderr)
        return 2
    _set_verbosity(fv.verbose, needs_tensorflow=command.name != "models")
    try:
        code = command.execute(fv)
    except TTSZooError as error:
        logging.debug("ttszoo %s failed", command.name, exc_info=True)
        print(f"ttszoo {command.name}: error: {_user_message(error)}", file=sys.stderr)
        return 1
    return code or 0


def _user_message(error):
    """The message of a user error, without the "In call to configurable" lines that gin adds
    to an error raised inside a configurable (they name a function, not the user's setting)."""
    message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    return _GIN_CALL_NOTE.sub("", message)


_GIN_CALL_NOTE = re.compile(r"\n\s*In call to configurable '[^'\n]*' \([^\n]*\)")


def _flags_parser(argv):
    flags.FLAGS(argv[:1], known_only=True)
    return argv


def run():
    """The console-script entry point (``ttszoo``)."""
    app.run(lambda argv: sys.exit(main(argv)), flags_parser=_flags_parser)


if __name__ == "__main__":
    run()
