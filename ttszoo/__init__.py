"""ttszoo: a TensorFlow / Keras 3 text-to-speech model zoo.

Importing ttszoo selects the TensorFlow Keras backend when ``KERAS_BACKEND`` is unset and
refuses any other backend with a ``ttszoo.backend.BackendError``.
"""

from ttszoo.backend import BackendError, ensure_tensorflow_backend

ensure_tensorflow_backend()

from ttszoo.resources import gin_search_paths  # noqa: E402
from ttszoo.version import __version__  # noqa: E402

__all__ = ["BackendError", "__version__", "gin_search_paths"]
