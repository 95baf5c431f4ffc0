"""No import cycle in the package: following the imports each module names (at the top, in
functions, under TYPE_CHECKING), no module reaches itself again. A package's `__init__` that a
submodule's import runs first is not an edge: only the modules an import statement names are."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from tests.support.data import REPO_ROOT


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in (REPO_ROOT / "evolcoder").rglob("*.py")}


def named_imports(path: Path) -> set[str]:
    """The project modules an import statement in `path` names (`from a import b` names a.b when
    that is a module, else a)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            subs = {f"{node.module}.{alias.name}" for alias in node.names} & set(modules())
            found |= subs or {node.module}
    return found & set(modules())


def cycle_from(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as the modules on it, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_module_of_the_package_imports_itself_through_others():
    graph = {name: named_imports(path) - {name} for name, path in modules().items()}
    cycle = cycle_from(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_check_finds_a_cycle():
    assert cycle_from({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_from({"a": {"b"}, "b": set()}) is None
