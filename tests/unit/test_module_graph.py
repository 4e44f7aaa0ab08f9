"""The domain modules import one another in one direction: no cycle, however deep or lazy the import."""

from __future__ import annotations

import ast
from pathlib import Path

import payplan

PACKAGE = Path(payplan.__file__).parent


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package's top-level modules *path* imports anywhere (at the top, in a function, or for type checking)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = [node.module.split(".")[0]] if node.module else [a.name for a in node.names]
            out.update(n for n in names if n in modules)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("payplan."):
            out.add((node.module or "").split(".")[1])
    return out & modules


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle, as the path that closes it (depth-first search)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                found.append([*path[path.index(dep):], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return found


class TestModuleGraph:
    def test_no_cycle_among_the_domain_modules(self) -> None:
        """No module of the package root imports, through any chain of imports, a module that imports it."""
        files = {p.stem: p for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__")}
        graph = {name: _imports(path, set(files)) - {name} for name, path in files.items()}
        assert "_late_fees" in graph["_reminders"]  # the graph is read, not empty
        assert _cycles(graph) == []

    def test_the_checker_finds_a_cycle(self) -> None:
        """The search reports a cycle when there is one (so the test above can fail)."""
        assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]
