"""A copy of the repository as a fresh clone holds it, and the commands tests run in it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from ruamel.yaml import YAML

from evolcoder.profile.compose import compose
from tests.support.data import REPO_ROOT as REPO



def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def copy_repo(dest: Path) -> Path:
    """Tracked and untracked-but-not-ignored files, committed in a new repository at `dest`
    (`dvc exp run` needs a commit and sees only files git knows)."""
    for name in git(REPO, "ls-files", "-co", "--exclude-standard").splitlines():
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    git(dest, "init", "-q")
    commit_all(dest, "copy")
    return dest


def commit_all(dest: Path, message: str) -> None:
    git(dest, "add", "-A")
    git(dest, "-c", "user.name=tests", "-c", "user.email=tests@localhost", "commit", "-qm", message)


def edit_params(dest: Path, edit: Callable[[dict], None]) -> None:
    """Apply `edit` to the default params in conf/config.yaml (the file `dvc exp run` composes
    params.yaml from, so an edit of params.yaml alone would not outlive the next experiment), then
    write params.yaml as its default composition, as `dvc exp run` would."""
    yaml = YAML()
    config = dest / "conf/config.yaml"
    data = yaml.load(config)
    edit(data)
    yaml.dump(data, config)
    (dest / "params.yaml").write_text(compose(dest, []), encoding="utf-8")


def dvc(dest: Path, *args: str, timeout: float = 1500, env: Mapping[str, str] | None = None) -> str:
    """Run `dvc` in `dest` (the venv's), with `env` added to this environment, failing the test
    with its output when it fails."""
    env = {**os.environ, **(env or {}), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["dvc", *args], cwd=dest, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"dvc {' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def run_stage(dest: Path, stage: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m stages.<stage> ARGS` in `dest`, importing the copy's code."""
    env = {**os.environ, "PYTHONPATH": str(dest)}
    return subprocess.run([sys.executable, "-m", f"stages.{stage}", *args], cwd=dest, env=env,
                          capture_output=True, text=True, timeout=900)
