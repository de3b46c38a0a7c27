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


def _entries(path):
    """The ``CatalogEntry`` of every ``@register_model`` class in the Python file ``path``."""
    module = ast.parse(path.read_text(encoding="utf-8"))
    constants = {
        target.id: statement.value.value
        for statement in module.body
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant)
        for target in statement.targets
        if isinstance(target, ast.Name) and isinstance(statement.value.value, str)
    }
    for statement in module.body:
        if not isinstance(statement, ast.ClassDef):
            continue
        for decorator in statement.decorator_list:
            if not (
                isinstance(decorator, ast.Call)
                and getattr(decorator.func, "id", None) == "register_model"
            ):
                continue
            keywords = {k.arg: _string(k.value, constants) for k in decorator.keywords}
            bases = [_FAMILY_OF_BASE.get(getattr(base, "id", None)) for base in statement.bases]
            family = keywords.get("family") or next(filter(None, bases), None)
            yield CatalogEntry(
                _string(decorator.args[0], constants),
                family,
                keywords["paper"],
                " ".join(keywords["description"].split()),
            )


def built_in_models():
    """Every model registered by a family package of ttszoo, sorted by name."""
    entries = [
        entry
        for path in sorted(_MODELS.glob("*/*.py"))
        if "register_model" in path.read_text(encoding="utf-8")
        for entry in _entries(path)
    ]
    return tuple(sorted(entries, key=lambda entry: entry.name))
