"""Parsing gin experiment files: packaged names, paths, bindings and search paths.

Order of precedence, lowest first: the model directory's saved ``operative_config.gin`` (so a
resumed run or a synthesis uses the settings it was trained with), then the ``--gin_file``
files in the order given, then the ``--gin_param`` bindings.
"""

import contextlib
import importlib
import logging
import os
from pathlib import Path

import tensorflow as tf

import gin
from ttszoo.errors import MissingFileError, TTSZooError
from ttszoo.resources import gin_search_paths


class GinConfigError(TTSZooError, ValueError):
    """A gin file or binding that gin cannot parse (the message names the file and line)."""


# Modules whose configurables gin files may name; imported before any parsing.
CONFIGURABLE_MODULES = (
    "ttszoo.audio",
    "ttszoo.text",
    "ttszoo.data",
    "ttszoo.data.pipeline",
    "ttszoo.models",
    "ttszoo.training",
    "ttszoo.layers",
)


def import_configurables():
    """Imports every ttszoo module that registers gin configurables (missing ones are skipped)."""
    for name in CONFIGURABLE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise


def resolve_gin_file(name, search_paths=()):
    """Returns the path of gin file ``name`` (a path, or a name under a search path).

    ``.gin`` may be left off. Raises ``MissingFileError`` (a ``FileNotFoundError``) listing
    where it looked.
    """
    candidates = [name] if name.endswith(".gin") else [name, f"{name}.gin"]
    folders = ["", *search_paths, *gin_search_paths()]
    for folder in folders:
        for candidate in candidates:
            path = os.path.join(folder, candidate) if folder else candidate
            if tf.io.gfile.exists(path) and not tf.io.gfile.isdir(path):  # gs:// too
                return path
    raise MissingFileError(
        f"gin file {name!r} was not found as a path nor under the search paths "
        f"{[str(f) for f in folders if f]}. Packaged files: {', '.join(packaged_gin_files())}."
    )


def packaged_gin_files():
    """Returns the names of the packaged gin files, e.g. ``"optimization/adam_noam.gin"``."""
    names = []
    for folder in gin_search_paths():
        names.extend(str(p.relative_to(folder)) for p in sorted(Path(folder).rglob("*.gin")))
    return names


def parse_gin(gin_files=(), gin_params=(), search_paths=(), operative_config=None):
    """Clears gin and parses an experiment.

    Args:
      gin_files: gin file names or paths (``--gin_file``), parsed in order.
      gin_params: binding strings (``--gin_param``), parsed after the files.
      search_paths: extra folders in which gin file names and ``include`` lines resolve.
      operative_config: a saved operative config text, parsed before everything else.

    Raises:
      MissingFileError: for a gin file that cannot be found.
      GinConfigError: for a bad file or binding; gin's message names the file and line.
    """
    import_configurables()
    # gin opens files with open(); gs:// (and ram://) files and search paths need tf.io.gfile.
    gin.config.register_file_reader(tf.io.gfile.GFile, tf.io.gfile.exists)
    gin.clear_config()
    for folder in [*search_paths, *gin_search_paths()]:
        gin.add_config_file_search_path(str(folder))
    files = [resolve_gin_file(name, search_paths) for name in gin_files]
    with _gin_errors("the saved operative_config.gin of the model directory"):
        if operative_config:
            gin.parse_config(operative_config)
    with _gin_errors("the gin file named above"), _quiet_include_probes():
        gin.parse_config_files_and_bindings(files, None, finalize_config=False)
    for binding in gin_params:
        with _gin_errors(f"--gin_param {binding!r}"):
            gin.parse_config(binding)


@contextlib.contextmanager
def _gin_errors(source):
    """Turns gin's parse errors into ``GinConfigError`` naming ``source`` (gin's own message
    names the file and line)."""
    try:
        yield
    except TTSZooError:
        raise
    except (ValueError, SyntaxError, OSError, ImportError) as error:
        raise GinConfigError(f"{error}\nFix {source} (docs/gin.md lists the settings).") from error


class _IncludeProbeFilter(logging.Filter):
    """Drops gin's "Path not found" records: gin logs one at ERROR level for every ``include``
    it first tries as a Python-package resource, before it finds the file on a search path.
    A file that is really missing still fails with gin's own exception."""

    def filter(self, record):
        return not (
            record.msg == "Path not found: %s" and record.pathname.endswith("resource_reader.py")
        )


@contextlib.contextmanager
def _quiet_include_probes():
    probe_filter = _IncludeProbeFilter()
    root = logging.getLogger()
    root.addFilter(probe_filter)
    try:
        yield
    finally:
        root.removeFilter(probe_filter)
