"""The files each stage reads and writes are declared once, in evolcoder/files/paths.py: dvc.yaml
lists exactly those (no more, no fewer), and no other module spells a pipeline path.

A dep or out that is one `${...}` expression (`${seed.source}`, `${generate.model}`, a fetch
entry's `${item.to}`) is a path a param names: the param declares it. Code deps (stages/,
evolcoder/, configs/, pyproject.toml) are test_dvc_deps.py's.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from evolcoder.config import read_yaml
from evolcoder.files.paths import READS, STAGE_FILES, WRITES, declared
from tests.support.data import REPO_ROOT

CODE = ("stages/", "evolcoder/", "configs/", "pyproject.toml")
PARAM_NAMED = re.compile(r"^\$\{[\w.]+\}$")
PIPELINE_PATH = re.compile(r"^(data|metrics|models)/")
DECLARATION = REPO_ROOT / "evolcoder/files/paths.py"
DVC_STAGES = read_yaml(REPO_ROOT / "dvc.yaml")["stages"]


def entries(body: dict, *keys: str) -> set[str]:
    """The data paths a stage's body lists under `keys` (an entry with options is a one-key mapping)."""
    paths = {next(iter(e)) if isinstance(e, dict) else e for key in keys for e in body.get(key) or []}
    return {p for p in paths if not p.startswith(CODE) and not PARAM_NAMED.match(p)}


def files_of(stage: str) -> object:
    """The module's files of `stage`; a foreach stage's built for DVC's `${item}`."""
    cls = STAGE_FILES[stage]
    return cls.of("${item}") if hasattr(cls, "of") else cls()


@pytest.mark.parametrize("stage", sorted(DVC_STAGES))
def test_dvc_yaml_lists_exactly_the_files_the_stage_declares(stage):
    body = DVC_STAGES[stage].get("do", DVC_STAGES[stage])
    deps, outs = entries(body, "deps"), entries(body, "outs", "metrics", "plots")
    if stage not in STAGE_FILES:
        assert not deps | outs, f"{stage} reads or writes {sorted(deps | outs)}: declare them in {DECLARATION.name}"
        return
    files = files_of(stage)
    assert deps == {str(p) for p in declared(files, READS)}, f"{stage}: dvc.yaml's deps vs what it reads"
    assert outs == {str(p) for p in declared(files, WRITES)}, f"{stage}: dvc.yaml's outs vs what it writes"


def test_every_declared_stage_is_in_dvc_yaml_and_every_headline_metric_is_written_by_one():
    assert set(STAGE_FILES) <= set(DVC_STAGES)
    written = {str(p) for stage in STAGE_FILES for p in declared(files_of(stage), WRITES)}
    assert set(read_yaml(REPO_ROOT / "dvc.yaml")["metrics"]) <= written


def pipeline_paths(path: Path, root: Path = REPO_ROOT) -> list[str]:
    """`file:line: text` of each string in `path` (f-strings' parts too) that spells a pipeline
    path, docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                and PIPELINE_PATH.match(node.value)):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value!r}")
    return found


def test_no_module_but_the_declaration_spells_a_pipeline_path():
    sources = [*(REPO_ROOT / "evolcoder").rglob("*.py"), *(REPO_ROOT / "stages").rglob("*.py")]
    spelled = [hit for path in sorted(sources) if path != DECLARATION for hit in pipeline_paths(path)]
    assert not spelled, f"pipeline paths outside {DECLARATION.name}:\n" + "\n".join(spelled)


def test_the_scan_finds_a_path_in_an_f_string_and_not_in_a_docstring(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text('"""Writes data/x.json."""\nOUT = f"metrics/{1}.json"\n')
    assert pipeline_paths(source, tmp_path) == ["probe.py:2: 'metrics/'"]
