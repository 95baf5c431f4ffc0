"""One name per stage: dvc.yaml's stage X runs `python -m stages.X`, which calls the entry function
`run` of `evolcoder/X/stage.py`; `evolcoder X` (evolcoder/X/cli.py) calls the same function; the
tests of the package are in tests/X/."""

from __future__ import annotations

import ast
import re

import pytest

from evolcoder.cli import SUBCOMMANDS
from evolcoder.config import read_yaml
from tests.support.data import REPO_ROOT

DVC_STAGES = read_yaml(REPO_ROOT / "dvc.yaml")["stages"]


def imported(path) -> set[str]:
    """The dotted names a source file imports (`from a.b import c` gives a.b and a.b.c)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


@pytest.mark.parametrize("stage", sorted(DVC_STAGES))
def test_the_stage_has_one_name_from_dvc_yaml_to_its_tests(stage):
    cmd = DVC_STAGES[stage].get("do", DVC_STAGES[stage])["cmd"]
    assert re.match(rf"python -m stages\.{stage}(\s|$)", cmd), f"{stage}: cmd {cmd!r} runs another module"
    module = ast.parse((REPO_ROOT / "evolcoder" / stage / "stage.py").read_text(encoding="utf-8"))
    entry = next((node for node in module.body if isinstance(node, ast.FunctionDef) and node.name == "run"), None)
    assert entry and entry.args.args[0].arg == "params", f"evolcoder/{stage}/stage.py has no run(params, ...)"
    assert f"evolcoder.{stage}.stage.run" in imported(REPO_ROOT / "stages" / f"{stage}.py")
    assert SUBCOMMANDS[stage][0] == f"evolcoder.{stage}.cli", f"`evolcoder {stage}` is not evolcoder/{stage}/cli.py"
    assert f"evolcoder.{stage}.stage" in imported(REPO_ROOT / "evolcoder" / stage / "cli.py")
    assert (REPO_ROOT / "tests" / stage / "__init__.py").is_file(), f"tests/{stage}/ is missing"
