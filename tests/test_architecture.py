"""The package's shape, checked statically over ``cherga/``'s sources (nothing is imported).

* No import cycle, type-only imports (under ``TYPE_CHECKING``) and imports inside functions included: the arrows
  point one way (DESIGN.md, "The shape"), so every module can be read, tested and compiled after what it uses.
* No function (method, nested function) longer than :data:`MAX_FUNCTION_LINES` lines, from its ``def`` to its
  last line: a function that long holds more than one idea and hides them from its reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cherga"
MAX_FUNCTION_LINES = 120


def modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> source file, for every ``.py`` under ``root`` (a package)."""
    out: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its source, with the packages that importing them
    runs (``import a.b.c`` runs ``a`` and ``a.b`` first)."""
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in known else base)
    out: set[str] = set()
    for target in targets:
        parts = target.split(".")
        for i in range(1, len(parts) + 1):
            out.add(".".join(parts[:i]))
    own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 2)}  # itself and its packages
    return {t for t in out if t in known and t not in own}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    known = modules(root)
    return {name: imports(name, path, known) for name, path in known.items()}


def test_no_import_cycle() -> None:
    graph = import_graph(PACKAGE)
    assert "cherga.journal.sqlite" in graph["cherga.engine_cli"]  # the graph sees the package's imports
    found = cycles(graph)
    assert not found, "import cycles (each a set of modules importing each other): " + "; ".join(
        " <-> ".join(c) for c in found
    )


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"a.py": "from p import b\n", "b.py": "import typing\nif typing.TYPE_CHECKING:\n    from p.a import X\n"},
         [["p.a", "p.b"]]),
        ({"a.py": "def f():\n    from . import b\n", "b.py": "from .c import y\n", "c.py": "import p.a\n"},
         [["p.a", "p.b", "p.c"]]),
        ({"__init__.py": "from p.a import x\n", "a.py": "x = 1\n"}, []),
        ({"a.py": "from p.b import y\n", "b.py": "import os\n"}, []),
    ],
)
def test_the_check_finds_cycles(tmp_path: Path, files: dict[str, str], expected: list[list[str]]) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "__init__.py").write_text("")
    for name, text in files.items():
        (root / name).write_text(text)
    assert cycles(import_graph(root)) == expected


def long_functions(root: Path, limit: int) -> list[str]:
    """``path:line name (n lines)`` of every function under ``root`` longer than ``limit`` lines."""
    out = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno is not None
                lines = node.end_lineno - node.lineno + 1
                if lines > limit:
                    out.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name} ({lines} lines)")
    return out


def test_no_function_over_120_lines() -> None:
    found = long_functions(PACKAGE, MAX_FUNCTION_LINES)
    assert not found, f"functions over {MAX_FUNCTION_LINES} lines: " + "; ".join(found)


def test_the_check_finds_long_functions(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    body = "".join(f"x{i} = {i}\n" for i in range(120))
    fits = "def fits():\n" + "".join("    " + line for line in body.splitlines(keepends=True)[:119])
    over = "class C:\n    async def over(self):\n" + "".join("        " + line for line in body.splitlines(True))
    (root / "a.py").write_text(f"{fits}\n\n{over}")
    assert long_functions(root, MAX_FUNCTION_LINES) == ["p/a.py:124 over (121 lines)"]
