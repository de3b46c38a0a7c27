"""The ``ttszoo`` command: ``ttszoo <command> [--flags]``.

Commands:
  corpus       speak the eSpeak NG demo corpus into an LJSpeech-format folder
  preprocess   turn an LJSpeech-format corpus into TFRecord shards plus features.json
  train        train (or resume) a gin-configured model into a model directory
  synthesize   text (or a file of lines) to wav with trained model directories
  export       write a trained pipeline as a TensorFlow SavedModel for serving
  schedule-search  find a few-step noise schedule for a trained diffusion vocoder
  models       list the registered models

``ttszoo <command> --help`` explains every flag of a command.
"""

import dataclasses
import difflib
import sys
from collections.abc import Callable

from absl import app, flags, logging


@dataclasses.dataclass
class Command:
    """One subcommand: its one-line summary, its flag definitions and what it runs."""

    name: str
    summary: str
    define_flags: Callable
    execute: Callable

    def new_flags(self):
        """A fresh ``FlagValues`` holding this command's flags."""
        fv = flags.FlagValues()
        self.define_flags(fv)
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
    flags.DEFINE_integer(
        "limit", None, "Speak only the first LIMIT sentences.", lower_bound=1, flag_values=fv
    )


def _corpus(fv):
    from ttszoo.data import build_demo_corpus

    path = build_demo_corpus(fv.out, limit=fv.limit)
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
    from ttszoo.training import ModelDirectory, train

    _parse_gin(fv, operative_config=ModelDirectory(fv.model_dir).operative_config())
    overrides = {
        name: getattr(fv, name)
        for name in ("records_dir", "steps")
        if getattr(fv, name) is not None
    }
    logs = train(model_dir=fv.model_dir, tpu=fv.tpu, **overrides)
    print(f"Trained {fv.model_dir} to step {logs['step']}.")


# synthesize


def _synthesize_flags(fv):
    flags.DEFINE_string(
        "acoustic", None, "The acoustic model directory (text -> spectrogram).", flag_values=fv
    )
    flags.DEFINE_string(
        "vocoder", None, "The vocoder model directory (default: Griffin-Lim).", flag_values=fv
    )
    flags.DEFINE_string(
        "text", None, "The text to speak; --out is then a .wav path.", flag_values=fv
    )
    flags.DEFINE_string(
        "text_file",
        None,
        "A UTF-8 file with one text per line; --out is then a folder of 0001.wav, 0002.wav ...",
        flag_values=fv,
    )
    flags.DEFINE_string(
        "out", None, "The output wav file (--text) or folder (--text_file).", flag_values=fv
    )
    flags.DEFINE_integer(
        "griffin_lim_iters",
        None,
        "Griffin-Lim iterations (default: the model's audio config).",
        lower_bound=1,
        flag_values=fv,
    )
    flags.mark_flags_as_required(["acoustic", "out"], flag_values=fv)
    flags.mark_flags_as_mutual_exclusive(["text", "text_file"], required=True, flag_values=fv)


def _synthesize(fv):
    from ttszoo.synthesis import Synthesizer

    synthesizer = Synthesizer.from_model_dirs(fv.acoustic, fv.vocoder, fv.griffin_lim_iters)
    if fv.text is not None:
        print(f"Wrote {synthesizer.synthesize_to_file(fv.text, fv.out)}")
    else:
        paths = synthesizer.synthesize_file(fv.text_file, fv.out)
        print(f"Wrote {len(paths)} files to {fv.out}")


# export


def _export_flags(fv):
    flags.DEFINE_string("acoustic", None, "The acoustic model directory.", flag_values=fv)
    flags.DEFINE_string(
        "vocoder",
        None,
        "The vocoder model directory (default: Griffin-Lim in the graph).",
        flag_values=fv,
    )
    flags.DEFINE_string("out", None, "The SavedModel folder to write.", flag_values=fv)
    flags.DEFINE_integer(
        "griffin_lim_iters",
        None,
        "Griffin-Lim iterations (default: the model's audio config).",
        lower_bound=1,
        flag_values=fv,
    )
    flags.mark_flags_as_required(["acoustic", "out"], flag_values=fv)


def _export(fv):
    from ttszoo.export import export_saved_model

    export_saved_model(
        fv.acoustic, fv.out, vocoder_dir=fv.vocoder, griffin_lim_iters=fv.griffin_lim_iters
    )
    print(f"Exported a SavedModel to {fv.out}")


# models


def _models_flags(fv):
    flags.DEFINE_enum(
        "family", None, ["acoustic", "vocoder"], "List only this family.", flag_values=fv
    )


def _models(fv):
    from ttszoo.models import list_models

    infos = list_models(fv.family)
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
    from ttszoo.diffusion.searched_schedules import search_model_schedule
    from ttszoo.training.loading import load_trained_model

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
        Command("models", "list the registered models", _models_flags, _models),
        Command(
            "schedule-search",
            "find a few-step noise schedule for a trained diffusion vocoder",
            _schedule_search_flags,
            _schedule_search,
        ),
    )
}

# Errors a user can act on: printed as one message, no traceback.
_USER_ERRORS = (ValueError, FileNotFoundError, KeyError, TypeError)


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


def main(argv):
    """Runs the command of ``argv`` (``["ttszoo", command, flags...]``); returns the exit code."""
    try:
        command, fv = parse_command_line(argv)
    except app.UsageError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        command.execute(fv)
    except _USER_ERRORS as error:
        logging.debug("ttszoo %s failed", command.name, exc_info=True)
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"ttszoo {command.name}: error: {message}", file=sys.stderr)
        return 1
    return 0


def _flags_parser(argv):
    flags.FLAGS(argv[:1], known_only=True)
    return argv


def run():
    """The console-script entry point (``ttszoo``)."""
    app.run(lambda argv: sys.exit(main(argv)), flags_parser=_flags_parser)


if __name__ == "__main__":
    run()
