"""Imports point down the layer order docs/architecture.md writes between its `layers` markers.

Every import of a project module, in `evolcoder/` and `stages/` (inside functions and
`TYPE_CHECKING` blocks too), must name a module of the same or a lower layer; and a stage
package (the layer of `evolve`) never imports another: what stages pass each other lives in the
core (`evolcoder.files`).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.support.data import REPO_ROOT

LAYERS_BLOCK = re.compile(r"<!-- layers -->\n(.*?)<!-- /layers -->", re.DOTALL)


def layer_order() -> dict[str, int]:
    """{'exec': 1, ..., 'stages': 5} from docs/architecture.md's numbered list."""
    block = LAYERS_BLOCK.search((REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8"))
    assert block, "docs/architecture.md has no <!-- layers --> block"
    order = {}
    for line in block.group(1).splitlines():
        number = re.match(r"\s*(\d+)\.", line)
        if number:  # the names before the parenthesis, e.g. 1. `exec`, `llm` (why)
            for name in re.findall(r"`([\w/]+)`", line.split("(")[0]):
                order[name] = int(number.group(1))
    return order


def unit_of(module: str) -> str:
    """The layer unit of a dotted module: `evolcoder.generate.runner` -> `generate`, `stages.x` -> `stages`."""
    parts = module.split(".")
    if parts[0] == "stages":
        return "stages"
    return parts[1] if len(parts) > 1 else "evolcoder"  # the package root: its version only


def project_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of each import of `evolcoder` or `stages` in a source file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            # `from evolcoder import exec` imports a sub-package
            if node.module == "evolcoder":
                found += [(node.lineno, f"evolcoder.{alias.name}") for alias in node.names]
    return [(line, m) for line, m in found if m.split(".")[0] in ("evolcoder", "stages")]


def source_files() -> list[Path]:
    return sorted([*(REPO_ROOT / "evolcoder").rglob("*.py"), *(REPO_ROOT / "stages").rglob("*.py")])


def module_of(path: Path) -> str:
    return ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)


def test_every_package_has_a_layer():
    order = layer_order()
    units = {unit_of(module_of(p)) for p in source_files()} - {"evolcoder", "__init__"}
    assert not units - set(order), f"add these to the layer list of docs/architecture.md: {sorted(units - set(order))}"


def unit_imports() -> list[tuple[str, str, str, str]]:
    """(`file:line`, module imported, unit importing, unit imported) of every project import."""
    return [(f"{path.relative_to(REPO_ROOT)}:{line}", module, unit_of(module_of(path)), unit_of(module))
            for path in source_files() for line, module in project_imports(path)]


def test_imports_point_down_the_layer_order():
    order = layer_order()
    upward = [f"{where}: {here} (layer {order[here]}) imports {module} ({there}, layer {order[there]})"
              for where, module, here, there in unit_imports()
              if there in order and here in order and order[there] > order[here]]
    assert not upward, "imports that point up the layer order:\n" + "\n".join(upward)


def stage_packages() -> set[str]:
    """The units of the stage packages' layer (the one `evolve` is in)."""
    order = layer_order()
    return {unit for unit, layer in order.items() if layer == order["evolve"]}


def test_no_stage_package_imports_another():
    stages = stage_packages()
    across = [f"{where}: stage package {here} imports {module}" for where, module, here, there in unit_imports()
              if here in stages and there in stages and there != here]
    assert not across, "stage packages importing each other (move what they share to the core):\n" + "\n".join(across)


def test_the_check_catches_an_upward_import(tmp_path):
    source = tmp_path / "x.py"
    source.write_text("def f():\n    from evolcoder.evolve import rounds\n")
    assert project_imports(source) == [(2, "evolcoder.evolve")]
    order = layer_order()
    assert order[unit_of("evolcoder.evolve")] > order[unit_of("evolcoder.llm.client")]
    assert {"verify", "dataset", "train"} <= stage_packages() and "files" not in stage_packages()
