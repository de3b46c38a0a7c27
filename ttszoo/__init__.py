"""ttszoo: a TensorFlow / Keras 3 text-to-speech model zoo.

Importing ttszoo selects the TensorFlow Keras backend when ``KERAS_BACKEND`` is unset and
refuses any other backend with a ``ttszoo.backend.BackendError``.
"""

from ttszoo.backend import BackendError, ensure_tensorflow_backend

ensure_tensorflow_backend()

from ttszoo.resources import gin_search_paths  # noqa: E402
from ttszoo.version import __version__  # noqa: E402

__all__ = ["BackendError", "Synthesizer", "__version__", "gin_search_paths"]


def __getattr__(name):
    """``ttszoo.Synthesizer`` loads the synthesis stack on first use."""
    if name == "Synthesizer":
        from ttszoo.synthesis import Synthesizer

        return Synthesizer
    raise AttributeError(f"module 'ttszoo' has no attribute {name!r}")
