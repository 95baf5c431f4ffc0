"""Each DVC stage's deps cover every project module it runs, and no folder dep covers modules it
never runs: an edit of any code a stage imports (directly or not) reruns that stage, and an edit
of code it does not import reruns nothing, but for the stage's own command-line module
(`evolcoder/<stage>/cli.py`, the `evolcoder <stage>` front end of the same entry function), which
its package folder holds.

A stage runs `python -m stages.<name>`; what it runs is that module and, transitively, every
project module imported (at the top, in functions, or under TYPE_CHECKING), every package
`__init__` on the way, and every module named in a string (`python -m evolcoder.train.worker`
for the DeepSpeed launcher, `evolcoder.evaluate.oracles:compare_outputs` for the sandbox).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

from tests.support.data import REPO_ROOT

MODULE_STRING = re.compile(r"^((?:evolcoder|stages)(?:\.\w+)+)(?::\w+)?$")


def module_file(name: str) -> Path | None:
    base = REPO_ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def package_inits(name: str) -> set[Path]:
    parts = name.split(".")
    return {p for i in range(1, len(parts)) if (p := REPO_ROOT.joinpath(*parts[:i], "__init__.py")).is_file()}


@cache
def direct_imports(path: Path) -> frozenset[Path]:
    """Project files `path` imports or names as a module string, and their package __init__s."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and (m := MODULE_STRING.match(node.value)):
            names.add(m.group(1))
    files = set()
    for name in names:
        if name.split(".")[0] in ("evolcoder", "stages") and (file := module_file(name)):
            files |= {file} | package_inits(name)
    return frozenset(files)


def runs(module: str) -> set[Path]:
    """Every project file `python -m <module>` runs."""
    todo = [module_file(module), *package_inits(module)]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo.extend(direct_imports(path) - seen)
    return seen


@cache
def stages() -> dict[str, tuple[str, list[Path]]]:
    """name -> (module it runs, its deps as absolute paths), from dvc.yaml as DVC resolves it."""
    from dvc.repo import Repo

    with Repo(str(REPO_ROOT)) as repo:
        found = {}
        for stage in repo.index.stages:
            match = re.match(r"python -m (stages\.\w+)", stage.cmd)
            if match:
                found[stage.addressing] = (match.group(1), [Path(dep.fs_path) for dep in stage.deps])
    return found


def covered(path: Path, deps: list[Path]) -> bool:
    return any(path == dep or dep in path.parents for dep in deps)


@pytest.mark.parametrize("stage", sorted(stages()))
def test_deps_cover_every_module_the_stage_runs(stage):
    module, deps = stages()[stage]
    missing = sorted(p.relative_to(REPO_ROOT).as_posix() for p in runs(module) if not covered(p, deps))
    assert not missing, f"{stage} runs these modules, which its deps in dvc.yaml miss: {missing}"


def own_cli(module: str) -> set[Path]:
    """`evolcoder/<x>/cli.py` for `stages.<x>`, if there is one."""
    path = REPO_ROOT / "evolcoder" / module.removeprefix("stages.") / "cli.py"
    return {path} if path.is_file() else set()


@pytest.mark.parametrize("stage", sorted(stages()))
def test_no_folder_dep_covers_code_the_stage_never_runs(stage):
    module, deps = stages()[stage]
    ran = runs(module) | own_cli(module)
    code_folders = [d for d in deps if d.is_dir() and d.is_relative_to(REPO_ROOT / "evolcoder")]
    stray = sorted(p.relative_to(REPO_ROOT).as_posix() for d in code_folders for p in d.rglob("*.py") if p not in ran)
    assert not stray, f"{stage} depends on folders holding modules it never runs: {stray}; list its files instead"


def test_the_check_follows_imports_in_functions_and_module_strings():
    runner = runs("evolcoder.train.runner")
    assert REPO_ROOT / "evolcoder/train/worker.py" in runner  # started by the launcher, by name
    assert REPO_ROOT / "evolcoder/__init__.py" in runner
    assert REPO_ROOT / "evolcoder/benchmarks/mbpp.py" in runs("evolcoder.benchmarks")
