"""One training run per model directory: an exclusive lock on the directory itself.

``train`` holds ``fcntl.flock`` on the open model directory for the whole run. The kernel drops
the lock when the process ends, however it ends (SIGKILL included), so a killed run never
leaves the directory stuck, and the lock writes no file into the directory. Remote paths
(``gs://``) and systems without ``fcntl`` are not locked (a log line says so).
"""

import contextlib
import os

from absl import logging

from ttszoo.errors import TTSZooError

try:
    import fcntl
except ImportError:  # not on POSIX
    fcntl = None


class ModelDirectoryBusyError(TTSZooError, RuntimeError):
    """Another process is training into the same model directory."""


class ReadOnlyModelDirectoryError(TTSZooError, PermissionError):
    """The model directory (or a folder inside it) cannot be written."""


def _check_writable(path):
    for folder in (path, os.path.join(path, "checkpoints")):
        if os.path.isdir(folder) and not os.access(folder, os.W_OK | os.X_OK):
            raise ReadOnlyModelDirectoryError(
                f"{folder} is read-only, so training cannot save checkpoints into it. Make it "
                f"writable (chmod u+w {folder}) or train into another --model_dir."
            )


@contextlib.contextmanager
def model_directory_lock(path):
    """Holds the exclusive training lock of model directory ``path`` (created when missing).

    Raises:
      ModelDirectoryBusyError: another live process holds the lock.
      ReadOnlyModelDirectoryError: the directory exists but cannot be written.
    """
    path = str(path)
    if "://" in path or fcntl is None:
        logging.info("%s is not locked against a second training run.", path)
        yield
        return
    _check_writable(path)
    created = not os.path.isdir(path)
    os.makedirs(path, exist_ok=True)
    descriptor = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ModelDirectoryBusyError(
                f"Another process is training into {path}. Wait for it to finish (or stop it), "
                "or train into another --model_dir."
            ) from None
        try:
            yield
        finally:
            if created and not os.listdir(path):
                os.rmdir(path)  # a run refused before its first write leaves no folder behind
    finally:
        os.close(descriptor)
