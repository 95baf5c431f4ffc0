"""Resumable run folders, keyed by everything a run depends on.

`<work_dir>/<key>/` holds the initial model and the Trainer's checkpoints of one run. The key
hashes the params, the data, the DeepSpeed config and the training code, so a restarted run
continues from its own last checkpoint and a changed run never resumes from a stale one. The
folder ignores itself in git (it can hold optimizer states of a 15B model).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import evolcoder
from evolcoder.download import file_sha256

CODE_PATHS = ("train", "templates.py")  # relative to the evolcoder package


def code_version() -> str:
    """Hash of the training code (this sub-package and the prompt template) and the package version."""
    root = Path(evolcoder.__file__).parent
    h = hashlib.sha256(evolcoder.__version__.encode())
    for rel in CODE_PATHS:
        target = root / rel
        for path in sorted(target.rglob("*.py")) if target.is_dir() else [target]:
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def run_key(params: dict[str, Any], data_path: str | Path, deepspeed_config: str | Path) -> str:
    """A short hash of the params, the training data, the DeepSpeed config and the code."""
    payload = {
        "params": params,
        "data": file_sha256(data_path),
        "deepspeed": file_sha256(deepspeed_config),
        "code": code_version(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def prepare_run_dir(work_dir: str | Path, key: str) -> Path:
    """`<work_dir>/<key>`, created, with a `.gitignore` that keeps the work folder out of git."""
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    (work / ".gitignore").write_text("# resumable training state, see evolcoder/train/workdir.py\n*\n")
    run_dir = work / key
    run_dir.mkdir(exist_ok=True)
    return run_dir


def last_checkpoint(run_dir: str | Path) -> Path | None:
    """The Trainer checkpoint with the highest step that finished saving, or None."""
    done = [p for p in Path(run_dir).glob("checkpoint-*")
            if re.fullmatch(r"checkpoint-\d+", p.name) and (p / "trainer_state.json").is_file()]
    return max(done, key=lambda p: int(p.name.split("-")[1]), default=None)


def remove_run_dir(run_dir: str | Path) -> None:
    """Drop a finished run's checkpoints: DVC's cache and run-cache hold its outputs."""
    shutil.rmtree(run_dir)
