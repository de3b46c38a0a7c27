"""The fingerprint of a model: what must match for a checkpoint to belong to it.

It records the registry name, the class, the hyperparameters (``model.get_config()`` without
the dtype policy, so a model trained in ``mixed_bfloat16`` loads in float32), every weight's
path and shape, and the parameter count. Resuming or loading with a different fingerprint
raises ``FingerprintMismatchError`` naming each differing setting. A hyperparameter that the
saved fingerprint lacks (a constructor argument added to the model class after the directory
was written) matches when the model has it at its constructor default, so old model
directories keep loading.
"""

import inspect
import json
import re

import numpy as np
import tensorflow as tf

from ttszoo.errors import TTSZooError
from ttszoo.models.base import TTSModel

_IGNORED_CONFIG_KEYS = ("dtype", "trainable", "name")
_UNIQUIFIER = re.compile(r"_\d+(?=/|$)")


class FingerprintMismatchError(TTSZooError, ValueError):
    """Raised when a model directory holds a model other than the one being built."""


def _plain(value):
    """Makes ``value`` JSON-comparable (tuples become lists, numpy scalars Python numbers)."""
    return json.loads(
        json.dumps(value, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v))
    )


def _stable_path(path):
    """Drops the model's own name and Keras' ``_<n>`` name uniquifiers from a weight path."""
    return _UNIQUIFIER.sub("", path.split("/", 1)[-1])


def compute_fingerprint(model):
    """Returns the fingerprint dict of a built ``keras.Model``."""
    if not model.built:
        raise ValueError("The model must be built (called once) before it is fingerprinted.")
    config = {k: v for k, v in model.get_config().items() if k not in _IGNORED_CONFIG_KEYS}
    weights = {
        f"{index:04d} {_stable_path(w.path)}": list(w.shape)
        for index, w in enumerate(model.weights)
    }
    return _plain(
        {
            "model": getattr(model, "registry_name", type(model).__name__),
            "class": f"{type(model).__module__}.{type(model).__qualname__}",
            "hyperparameters": config,
            "weights": weights,
            "parameter_count": int(sum(np.prod(w.shape) for w in model.weights)),
        }
    )


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        flat = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


def constructor_defaults(model):
    """``{"hyperparameters.<name>": default}`` for each keyword argument of the model's class
    and of the ``TTSModel`` base classes its ``**kwargs`` reach (``GANVocoder`` under
    ``Vocos``); a subclass's default wins over its base's."""
    defaults = {}
    for cls in reversed(type(model).__mro__):
        if "__init__" not in vars(cls) or not issubclass(cls, TTSModel):
            continue
        for parameter in inspect.signature(cls.__init__).parameters.values():
            if parameter.default is not inspect.Parameter.empty:
                defaults[f"hyperparameters.{parameter.name}"] = _plain(parameter.default)
    return defaults


def fingerprint_differences(saved, current, defaults=None):
    """Returns human-readable lines, one per setting that differs between two fingerprints.

    ``defaults`` (``constructor_defaults``): a setting absent from ``saved`` and at its default
    in ``current`` is no difference.
    """
    saved_flat, current_flat = _flatten(saved), _flatten(current)
    defaults = defaults or {}
    lines = []
    for key in sorted(set(saved_flat) | set(current_flat)):
        before, now = saved_flat.get(key, "<absent>"), current_flat.get(key, "<absent>")
        added_at_default = key not in saved_flat and key in defaults and defaults[key] == now
        if before != now and not added_at_default:
            lines.append(f"{key}: {before!r} in the model directory, {now!r} now")
    return lines


def save_fingerprint(path, fingerprint):
    """Writes ``fingerprint`` as JSON to ``path`` (a temporary name, then a rename)."""
    temporary = f"{path}.tmp"
    with tf.io.gfile.GFile(temporary, "w") as stream:
        stream.write(json.dumps(fingerprint, indent=1, sort_keys=True))
    tf.io.gfile.rename(temporary, str(path), overwrite=True)


def load_fingerprint(path):
    """Reads a fingerprint JSON file, or returns ``None`` if there is none."""
    if not tf.io.gfile.exists(str(path)):
        return None
    with tf.io.gfile.GFile(str(path)) as stream:
        return json.loads(stream.read())


def check_fingerprint(path, model, max_lines=20):
    """Compares ``model`` with the fingerprint saved at ``path``.

    Raises:
      FingerprintMismatchError: naming each differing setting, when they differ.
    """
    saved = load_fingerprint(path)
    if saved is None:
        return
    differences = fingerprint_differences(
        saved, compute_fingerprint(model), constructor_defaults(model)
    )
    if differences:
        shown = differences[:max_lines]
        if len(differences) > max_lines:
            shown.append(f"... and {len(differences) - max_lines} more")
        raise FingerprintMismatchError(
            f"The model directory {str(path).rsplit('/', 1)[0]} holds a different model:\n  "
            + "\n  ".join(shown)
            + "\nUse a new --model_dir to train this model, or restore the settings above "
            "(the directory's operative_config.gin has them)."
        )
