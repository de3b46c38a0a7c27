"""The checks a training run passes before it writes anything into its model directory.

``train`` runs them in this order, each before the first write:

  1. the records' features (audio settings, tokenizer) equal those the directory was trained
     on (``check_features``), so a resume never rewrites ``features.json`` with other settings;
  2. the model built now has the directory's fingerprint (name, family, hyperparameters,
     weight shapes; see ``fingerprint.py``);
  3. the model's text vocabulary holds every id the records' tokenizer produces
     (``check_vocabulary``).

See docs/model_directory.md.
"""

import json

import tensorflow as tf

from ttszoo.errors import TTSZooError
from ttszoo.training.fingerprint import check_fingerprint
from ttszoo.training.model_dir import FEATURES

# The settings of features.json that a model's weights depend on.
_COMPARED_SETTINGS = ("audio_config", "tokenizer")


class FeaturesMismatchError(TTSZooError, ValueError):
    """The records hold features other than those the model directory was trained on."""


class VocabularyMismatchError(TTSZooError, ValueError):
    """The records' tokenizer produces ids outside the model's text vocabulary."""


def read_records_features(records_dir):
    """Returns the parsed ``<records_dir>/features.json``, or ``None`` (no folder given, or none)."""
    if records_dir is None:
        return None
    path = f"{str(records_dir).rstrip('/')}/{FEATURES}"
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as stream:
        return json.loads(stream.read())


def check_features(directory, records_features, records_dir):
    """Raises ``FeaturesMismatchError`` naming each audio or text setting that differs between
    the records and the model directory's ``features.json`` (nothing when either is absent)."""
    saved = directory.features()
    if not saved or records_features is None:
        return
    differences = []
    for section in _COMPARED_SETTINGS:
        before, now = saved.get(section) or {}, records_features.get(section) or {}
        for key in sorted(set(before) | set(now)):
            if before.get(key) != now.get(key):
                differences.append(
                    f"{section}.{key}: {before.get(key, '<absent>')!r} in {directory.path}, "
                    f"{now.get(key, '<absent>')!r} in {records_dir}"
                )
    if differences:
        raise FeaturesMismatchError(
            f"The records {records_dir} hold other features than {directory.path} was trained "
            "on:\n  " + "\n  ".join(differences) + "\nResume with the records it was trained on "
            "(or omit --records_dir), or train these records into a new --model_dir."
        )


def check_vocabulary(model, features, records_dir):
    """Raises ``VocabularyMismatchError`` when the records' tokenizer has more symbols than the
    model's ``vocab_size`` (models without a ``vocab_size``, vocoders, pass)."""
    vocab_size = getattr(model, "vocab_size", None)
    settings = (features or {}).get("tokenizer")
    if vocab_size is None or settings is None:
        return
    from ttszoo.text import Tokenizer

    symbols = Tokenizer.from_config(settings).vocab_size
    if symbols > vocab_size:
        raise VocabularyMismatchError(
            f"The records {records_dir} use {settings['symbols']!r} symbols ({symbols} ids), but "
            f"the model's vocab_size is {vocab_size}. Use the recipe for "
            f"{settings['symbols']} (or set VOCAB_SIZE = {symbols}), or preprocess the corpus "
            f"with the symbols the recipe expects."
        )


def check_model(directory, model, features, records_dir):
    """Checks 2 and 3 of the module docstring for the built ``model``."""
    check_fingerprint(directory.fingerprint, model)
    check_vocabulary(model, features if features is not None else directory.features(), records_dir)
