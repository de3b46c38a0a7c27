"""``ttszoo check``: verifies a model directory file by file and says what is wrong.

It reads, and never writes: the operative config (parsed by gin, its model registered, built
and restored the way synthesis loads it),
``features.json`` (audio settings and tokenizer rebuilt), ``fingerprint.json`` and
``batch_spec.json`` (valid JSON, the same model as the config), and every checkpoint (each
tensor read; see ``checkpoints.checkpoint_problem``), plus the leftovers of interrupted or
damaged writes. See docs/model_directory.md.
"""

import dataclasses
import json
import re

import tensorflow as tf

import gin
from ttszoo.training import checkpoints as ckpt
from ttszoo.training.model_dir import FEATURES, FINGERPRINT, OPERATIVE_CONFIG, ModelDirectory
from ttszoo.training.specs import BATCH_SPEC

_MODEL_NAME = re.compile(r"^get_model\.name\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Finding:
    """One verified part of a model directory.

    Attributes:
      subject: the file or checkpoint, relative to the model directory.
      problem: what is wrong and how to fix it, or ``None`` when it is fine.
      detail: what was found (for a fine part).
    """

    subject: str
    problem: str | None = None
    detail: str = ""

    def __str__(self):
        if self.problem is None:
            return f"ok       {self.subject}: {self.detail}"
        return f"PROBLEM  {self.subject}: {self.problem}"


def _read_json(directory, name):
    with tf.io.gfile.GFile(directory.join(name)) as stream:
        return json.loads(stream.read())


def _check_json_file(directory, name, describe):
    """A Finding for the JSON file ``name``: missing, unparsable, or ``describe(value)``."""
    if not tf.io.gfile.exists(directory.join(name)):
        return Finding(name, f"missing; `ttszoo train --model_dir {directory.path}` writes it.")
    try:
        value = _read_json(directory, name)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return Finding(name, f"not valid JSON ({error}); restore it from a backup.")
    try:
        return Finding(name, detail=describe(value))
    except (KeyError, TypeError, ValueError) as error:
        return Finding(name, f"unusable settings ({error}); restore it from a backup.")


def _describe_features(features):
    from ttszoo.audio import AudioConfig
    from ttszoo.text import Tokenizer

    audio = AudioConfig.from_dict(features["audio_config"])
    tokenizer = Tokenizer.from_config(features["tokenizer"])
    return (
        f"{audio.sample_rate} Hz, hop {audio.hop_length}, {audio.n_mels} mel bins, "
        f"{tokenizer.symbols} ({tokenizer.vocab_size} ids)"
    )


def _check_operative_config(directory):
    text = directory.operative_config()
    if text is None:
        return Finding(OPERATIVE_CONFIG, "missing; the directory was never trained.")
    from ttszoo.models.registry import get_model_info
    from ttszoo.training.gin_config import import_configurables

    import_configurables()
    gin.clear_config()
    try:
        gin.parse_config(text)
    except (ValueError, SyntaxError, ImportError) as error:
        return Finding(OPERATIVE_CONFIG, f"gin cannot parse it: {error}")
    finally:
        gin.clear_config()
    match = _MODEL_NAME.search(text)
    if match is None:
        return Finding(OPERATIVE_CONFIG, "names no model (no get_model.name binding).")
    try:
        info = get_model_info(match.group(1))
    except KeyError as error:
        return Finding(OPERATIVE_CONFIG, str(error))
    from ttszoo.training.loading import load_trained_model

    try:  # builds the model from the config, compares fingerprint.json, restores the weights
        step = load_trained_model(directory.path).step
    except Exception as error:  # noqa: BLE001 -- a diagnosis: report whatever stops the load
        return Finding(
            OPERATIVE_CONFIG,
            f"the model it configures does not load ({type(error).__name__}: {error})",
        )
    finally:
        gin.clear_config()
    return Finding(
        OPERATIVE_CONFIG,
        detail=f"model {info.name} ({info.family}) builds, matches {FINGERPRINT} and restores "
        f"step {step}",
    )


def _check_checkpoints(directory):
    folder = directory.checkpoints
    if not tf.io.gfile.isdir(folder):
        return [Finding("checkpoints/", "missing; the directory holds no trained weights.")]
    steps = ckpt.complete_steps(folder)
    findings = []
    for step in steps:
        name = f"checkpoints/ckpt-{step:09d}"
        problem = ckpt.checkpoint_problem(ckpt.checkpoint_prefix(folder, step))
        if problem is None:
            findings.append(Finding(name, detail=f"step {step}, every tensor reads"))
        else:
            findings.append(
                Finding(
                    name,
                    f"damaged ({problem}); training and synthesis skip it and use the previous "
                    "one; delete its files or restore them from a backup.",
                )
            )
    leftovers = ckpt.interrupted_files(folder)
    if leftovers:
        findings.append(
            Finding(
                "checkpoints/",
                f"files of an interrupted write {leftovers}; the next `ttszoo train` removes them.",
            )
        )
    set_aside = sorted(n for n in tf.io.gfile.listdir(folder) if n.startswith("corrupt-"))
    if set_aside:
        findings.append(
            Finding(
                "checkpoints/",
                f"damaged checkpoints set aside by training {set_aside}; delete them when "
                "no longer needed.",
            )
        )
    if not steps:
        findings.append(Finding("checkpoints/", "no complete checkpoint; train the model first."))
    return findings


def verify_model_directory(path):
    """Returns the ``Finding``s of model directory ``path`` (never writes into it)."""
    directory = ModelDirectory(path)
    if not directory.exists():
        return [Finding(directory.path, "not a folder; give the --model_dir of a training run.")]
    config = _check_operative_config(directory)
    findings = [config]
    findings.append(_check_json_file(directory, FEATURES, _describe_features))
    model = _MODEL_NAME.search(directory.operative_config() or "")

    def describe_fingerprint(value):
        if model is not None and value["model"] != model.group(1):
            raise ValueError(
                f"it is of model {value['model']!r}, the operative config names {model.group(1)!r}"
            )
        return f"{value['model']}, {value['parameter_count']} parameters"

    findings.append(_check_json_file(directory, FINGERPRINT, describe_fingerprint))
    findings.append(
        _check_json_file(directory, BATCH_SPEC, lambda spec: f"inputs {', '.join(sorted(spec))}")
    )
    return findings + _check_checkpoints(directory)
