"""Finds the model families: every subpackage of ``ttszoo.models`` is imported at start-up.

A family package (``ttszoo/models/<family>/``) registers its models with ``@register_model``
when it is imported. ``ttszoo/models/__init__.py`` calls ``import_subpackages`` on itself, so a
new family folder is registered without editing any file outside it (docs/architecture.md,
"Adding a model").
"""

import importlib
import pkgutil


def import_subpackages(package_path, package_name):
    """Imports every subpackage (a folder with ``__init__.py``) of a package, in name order.

    Plain modules beside them are left alone: they are imported by whoever needs them.

    Args:
      package_path: the package's ``__path__``.
      package_name: the package's ``__name__``, e.g. ``"ttszoo.models"``.

    Returns:
      The imported subpackages' full names, sorted.
    """
    names = sorted(
        f"{package_name}.{module.name}"
        for module in pkgutil.iter_modules(package_path)
        if module.ispkg
    )
    for name in names:
        importlib.import_module(name)
    return names
