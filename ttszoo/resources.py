"""Where the packaged experiment files live.

In a wheel the top-level ``gin/`` tree is installed as ``ttszoo/gin``; in a source checkout
(or an editable install) it sits beside the ``ttszoo`` package.
"""

from pathlib import Path

from ttszoo.errors import MissingFileError

_PACKAGE_DIR = Path(__file__).resolve().parent


def packaged_gin_dir():
    """Returns the folder holding the packaged ``.gin`` files (``models/``, ``recipes/``, ...)."""
    for candidate in (_PACKAGE_DIR / "gin", _PACKAGE_DIR.parent / "gin"):
        if candidate.is_dir() and any(candidate.rglob("*.gin")):
            return candidate
    raise MissingFileError(
        "The packaged gin files were not found next to the ttszoo package. Reinstall ttszoo "
        "(pip install ttszoo) or run from a full source checkout."
    )


def gin_search_paths():
    """Returns the list of folders in which gin ``include`` and ``--gin_file`` names resolve."""
    return [str(packaged_gin_dir())]
