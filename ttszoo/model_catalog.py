"""The built-in models' names, families and papers, readable without importing TensorFlow.

``ttszoo models`` and ``ttszoo --help`` answer from this catalog in well under a second. It is
read from the source of the model families (``ttszoo/models/<family>/*.py``): each
``@register_model("name", paper=..., description=...)`` decorator and the base class of the class
it decorates (``AcousticModel`` or ``VocoderModel``). So a new family is listed without any edit
here; the registry (``ttszoo.models.registry``) stays the source of truth, and
tests/test_model_catalog.py checks that both agree.
"""

import ast
import dataclasses
from pathlib import Path

_MODELS = Path(__file__).parent / "models"
_FAMILY_OF_BASE = {"AcousticModel": "acoustic", "VocoderModel": "vocoder"}


@dataclasses.dataclass(frozen=True)
class CatalogEntry:
    """What ``ttszoo models`` prints of one registered model."""

    name: str
    family: str
    paper: str
    description: str


def _string(node, constants):
    """The value of a string literal, or of a module-level string constant named by ``node``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    raise ValueError(f"expected a string literal or a module string constant, got {ast.dump(node)}")


def _module_strings(module):
    """The module-level string constants of a parsed module: ``{name: value}``."""
    return {
        target.id: statement.value.value
        for statement in module.body
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant)
        for target in statement.targets
        if isinstance(target, ast.Name) and isinstance(statement.value.value, str)
    }


def _family(name, bases_of):
    """The family of class ``name``: the first ``AcousticModel``/``VocoderModel`` among its
    ancestors, found by name through ``bases_of`` (``{class name: [base names]}``)."""
    pending, seen = [name], set()
    while pending:
        current = pending.pop(0)
        if current in _FAMILY_OF_BASE:
            return _FAMILY_OF_BASE[current]
        if current not in seen:
            seen.add(current)
            pending.extend(bases_of.get(current, ()))
    return None


def _registrations(module, constants):
    """``(class name, decorator call)`` of every ``@register_model`` class of a module."""
    for statement in module.body:
        if isinstance(statement, ast.ClassDef):
            for decorator in statement.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and getattr(decorator.func, "id", None) == "register_model"
                ):
                    yield statement.name, decorator


def built_in_models():
    """Every model registered by a family package of ttszoo, sorted by name."""
    modules = [
        ast.parse(path.read_text(encoding="utf-8")) for path in sorted(_MODELS.rglob("*.py"))
    ]
    bases_of = {
        statement.name: [
            getattr(base, "id", getattr(base, "attr", None)) for base in statement.bases
        ]
        for module in modules
        for statement in module.body
        if isinstance(statement, ast.ClassDef)
    }
    entries = []
    for module in modules:
        constants = _module_strings(module)
        for class_name, decorator in _registrations(module, constants):
            keywords = {k.arg: _string(k.value, constants) for k in decorator.keywords}
            entries.append(
                CatalogEntry(
                    _string(decorator.args[0], constants),
                    keywords.get("family") or _family(class_name, bases_of),
                    keywords["paper"],
                    " ".join(keywords["description"].split()),
                )
            )
    return tuple(sorted(entries, key=lambda entry: entry.name))
