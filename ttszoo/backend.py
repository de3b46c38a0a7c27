"""Makes sure Keras runs on TensorFlow before anything imports it.

ttszoo is TensorFlow-only: its layers use ``tf.signal``, TensorFlow Probability and
XLA-compiled ``tf.function`` steps. Keras 3 picks its backend from ``KERAS_BACKEND`` (or
``~/.keras/keras.json``) the first time it is imported, so this module must run first.
"""

import os
import sys

from ttszoo.errors import TTSZooError

_VARIABLE = "KERAS_BACKEND"


class BackendError(TTSZooError, RuntimeError):
    """Raised when Keras is forced onto a backend other than TensorFlow."""


def ensure_tensorflow_backend():
    """Selects the TensorFlow Keras backend, or raises if another one is forced.

    Sets ``KERAS_BACKEND=tensorflow`` when it is unset (the variable overrides
    ``~/.keras/keras.json``). Raises ``BackendError`` when the variable names another backend,
    or when Keras was already imported with another one. Does not import Keras itself, so
    ``import ttszoo`` stays cheap for worker processes that only need numpy.
    Refuses ``TF_USE_LEGACY_KERAS``, which would swap Keras 3 for Keras 2.
    """
    requested = os.environ.setdefault(_VARIABLE, "tensorflow")
    if requested != "tensorflow":
        raise BackendError(
            f"ttszoo needs the TensorFlow Keras backend, but {_VARIABLE}={requested!r}. "
            f"Unset {_VARIABLE} or set it to 'tensorflow' before importing ttszoo."
        )
    if os.environ.get("TF_USE_LEGACY_KERAS", "0").lower() in ("1", "true", "yes"):
        raise BackendError(
            "ttszoo needs Keras 3, but TF_USE_LEGACY_KERAS is set, which makes TensorFlow use "
            "Keras 2 (tf_keras). Unset TF_USE_LEGACY_KERAS."
        )
    keras = sys.modules.get("keras")
    if keras is None:
        return  # Keras reads KERAS_BACKEND when it is first imported.
    active = keras.backend.backend()
    if active != "tensorflow":
        raise BackendError(
            f"Keras was already imported with the {active!r} backend (from ~/.keras/keras.json "
            f"or an earlier import). Set {_VARIABLE}=tensorflow before anything imports keras."
        )
