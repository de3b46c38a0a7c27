"""No function in ttszoo/ is over 60 lines unless its docstring says why.

A function is counted from its ``def`` line to its last line, docstring included. A longer one
is accepted when its docstring contains the marker ``Long because`` followed by the reason
(docs/architecture.md, "Conventions").
"""

import ast
import pathlib

import ttszoo

ROOT = pathlib.Path(ttszoo.__file__).parent
MAX_LINES = 60
MARKER = "Long because"


def long_functions(source):
    """(name, line, length) of each function in ``source`` over MAX_LINES without the marker."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        length = node.end_lineno - node.lineno + 1
        if length > MAX_LINES and MARKER not in (ast.get_docstring(node) or ""):
            found.append((node.name, node.lineno, length))
    return found


def test_the_check_flags_a_long_function_and_accepts_the_marker():
    lines = [f"    x{i} = {i}\n" for i in range(MAX_LINES)]
    plain = 'def f():\n    """Adds."""\n' + "".join(lines)
    explained = 'def f():\n    """Adds.\n\n    Long because it must.\n    """\n' + "".join(lines)
    exactly_max = 'def f():\n    """Adds."""\n' + "".join(lines[:-2])
    assert long_functions(plain) == [("f", 1, MAX_LINES + 2)]
    assert long_functions(explained) == []
    assert long_functions(exactly_max) == []


def test_no_function_over_60_lines_without_a_reason():
    problems = [
        f"{path.relative_to(ROOT.parent)}:{line} {name} has {length} lines"
        for path in sorted(ROOT.rglob("*.py"))
        for name, line, length in long_functions(path.read_text(encoding="utf-8"))
    ]
    assert not problems, (
        f"functions over {MAX_LINES} lines; split them, or say why in the docstring with "
        f"'{MARKER} ...':\n" + "\n".join(problems)
    )
