"""The package layering of docs/architecture.md, checked on the import statements of ttszoo/.

Imports point down the stack only: a package may import the packages listed for it in
``MAY_IMPORT`` and nothing else of ttszoo, and training/ reaches the models only through the
modules directly in ttszoo/models/ (registry, contract), never through a model family.
"""

import ast
import pathlib

import ttszoo

ROOT = pathlib.Path(ttszoo.__file__).parent
BASE = {"errors", "version", "resources", "backend"}
MAY_IMPORT = {
    "errors": set(),
    "version": set(),
    "resources": {"errors"},
    "backend": {"errors"},
    "text": BASE,
    "audio": BASE,
    "evaluation": BASE | {"audio"},
    "layers": BASE,
    "losses": BASE | {"layers"},
    "distributions": BASE,
    "diffusion": BASE | {"evaluation"},
    "data": BASE | {"text", "audio"},
    "models": BASE | {"text", "audio", "data", "layers", "losses", "distributions", "diffusion"},
    "training": BASE
    | {"text", "audio", "data", "evaluation", "layers", "distributions", "diffusion", "models"},
}
# The evaluator runs a Synthesizer, so it sits on top with synthesis; the metrics it uses sit low.
TOP_MODULES = {("evaluation", "evaluator"), ("evaluation", "references")}
FAMILIES = sorted(
    path.name for path in (ROOT / "models").iterdir() if (path / "__init__.py").is_file()
)


def imports_of(path):
    """The ttszoo modules a file imports, as dotted names (``from a import b`` gives ``a.b``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.split(".")[0] == "ttszoo"}


def test_imports_point_down_the_stack():
    problems = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        package = parts[0]
        if package not in MAY_IMPORT or parts in TOP_MODULES:
            continue  # synthesis, export, cli, the evaluator and ttszoo/__init__.py sit on top
        for name in sorted(imports_of(path)):
            target = name.split(".")[1]
            if target != package and target not in MAY_IMPORT[package]:
                problems.append(f"{'/'.join(parts)}.py imports {name}")
    assert not problems, "imports against the layering of docs/architecture.md:\n" + "\n".join(
        problems
    )


def test_training_never_imports_a_model_family():
    problems = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / "training").rglob("*.py"))
        for name in sorted(imports_of(path))
        if name.split(".")[:2] == ["ttszoo", "models"]
        and len(name.split(".")) > 2
        and name.split(".")[2] in FAMILIES
    ]
    assert FAMILIES and not problems, "\n".join(problems)
