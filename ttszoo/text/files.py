"""Reading the user's text files (metadata.csv, --text_file) as UTF-8 with clear errors."""

from pathlib import Path

from ttszoo.errors import InvalidInputError, MissingFileError


def read_utf8(path):
    """Returns the text of the UTF-8 file ``path``; a leading byte-order mark is dropped.

    Raises:
      MissingFileError: there is no such file.
      InvalidInputError: the file is not UTF-8 (e.g. Latin-1); the message names the file,
        the line and the byte, and how to convert it.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path} not found; give the path of an existing text file.")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InvalidInputError(
            f"{path} line {line} is not UTF-8 (byte 0x{data[error.start]:02x}); ttszoo reads "
            f"text files as UTF-8. Convert it, e.g. `iconv -f latin1 -t utf-8 {path.name}`."
        ) from None


def excerpt(text, limit=60):
    """``repr(text)``, or for a text longer than ``limit`` its start and its length, so that a
    message about a long text stays one short line."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[: limit - 20]!r}... ({len(text)} characters)"
