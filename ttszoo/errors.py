"""The base class of every error that a user of ttszoo can act on.

An error derived from ``TTSZooError`` is a mistake in the user's input, files or settings,
raised with a message that names the problem and the fix. The ``ttszoo`` command prints such an
error as one line and exits with status 1; every other exception is a bug in ttszoo or in a
library and keeps its traceback.

Subclasses also derive from the built-in exception that fits them (``ValueError``,
``KeyError``, ...), so code that catches those keeps working::

    class ModelDirectoryError(TTSZooError, ValueError): ...
"""


class TTSZooError(Exception):
    """A user error: bad input, a bad file or setting, with a message saying how to fix it."""


class InvalidInputError(TTSZooError, ValueError):
    """A value, text, setting or file content that ttszoo cannot use."""


class MissingFileError(TTSZooError, FileNotFoundError):
    """A file or folder that a command needs does not exist."""
