"""The package layering of docs/architecture.md, checked on the import statements of ttszoo/.

Imports point down the stack only: a package may import the packages listed for it in
``MAY_IMPORT`` and nothing else of ttszoo, and training/ reaches the models only through the
modules directly in ttszoo/models/ (registry, contract), never through a model family.
No module imports itself back through a chain of module-level imports (an import cycle).
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


def module_name(path):
    """The dotted module name of a file of ttszoo/ (a package's ``__init__.py`` names the package)."""
    parts = ("ttszoo", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_level_imports(path, modules):
    """The ttszoo modules that importing ``path`` imports at once: import statements outside
    functions (module body, class bodies, ``if`` and ``try`` blocks), resolved to the modules
    in ``modules``; ``from package import name`` counts as the submodule when ``name`` is one."""
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    found = set()

    def visit(statements):
        for node in statements:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue  # runs when called, not when imported
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name in modules)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}".rstrip(".")
                for alias in node.names:
                    if f"{base}.{alias.name}" in modules:
                        found.add(f"{base}.{alias.name}")
                    elif base in modules:
                        found.add(base)
            for field in ("body", "orelse", "finalbody", "handlers"):
                visit(getattr(node, field, None) or [])

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return found - {module_name(path)}


def import_cycles(graph):
    """The strongly connected components of more than one module in ``graph`` (Tarjan)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def connect(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return cycles


def test_the_cycle_finder_finds_chains_and_only_them():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert import_cycles(graph) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_no_two_modules_import_each_other_at_module_level():
    paths = sorted(ROOT.rglob("*.py"))
    modules = {module_name(path) for path in paths}
    graph = {module_name(path): module_level_imports(path, modules) for path in paths}
    assert import_cycles(graph) == [], "modules that import each other at module level"
