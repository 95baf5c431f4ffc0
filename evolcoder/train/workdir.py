"""Resumable run folders, keyed by everything a run depends on.

`<work_dir>/<key>/` holds the initial model and the Trainer's checkpoints of one run. The key
hashes the params, the data, the DeepSpeed config and the training code, so a restarted run
continues from its own last checkpoint and a changed run never resumes from a stale one. The
folder ignores itself in git (it can hold optimizer states of a 15B model).

`run.json` in each run folder keeps what the key hashed, so that a run of changed code can
continue another run's checkpoint on purpose (`train.continue_from`), refused when anything
but the code differs; `continued.json` records where it came from. A training holds
`.lock` in its folder while it runs, so that cleaning up never removes it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import evolcoder
from evolcoder.config import ConfigError
from evolcoder.download import file_sha256
from evolcoder.errors import EvolcoderError
from evolcoder.jsonl import read_json, write_json

CODE_PATHS = ("train", "templates.py")  # relative to the evolcoder package
RUN_RECORD = "run.json"  # what the run key hashes
CONTINUED = "continued.json"  # the checkpoint this run started from (train.continue_from)
LOCK = ".lock"
NOT_A_RECIPE = ("train.continue_from",)  # may differ between a run and the one it continues


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


def run_record(params: dict[str, Any], data_path: str | Path, deepspeed_config: str | Path) -> dict[str, Any]:
    """What a run depends on: the params, the training data, the DeepSpeed config and the code."""
    return {"params": params, "data": file_sha256(data_path), "deepspeed": file_sha256(deepspeed_config),
            "code": code_version()}


def key_of(record: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]


def run_key(params: dict[str, Any], data_path: str | Path, deepspeed_config: str | Path) -> str:
    """A short hash of the params, the training data, the DeepSpeed config and the code."""
    return key_of(run_record(params, data_path, deepspeed_config))


def prepare_run_dir(work_dir: str | Path, record: dict[str, Any]) -> Path:
    """`<work_dir>/<key of record>`, created with its `run.json`, and a `.gitignore` that keeps the
    work folder out of git."""
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    (work / ".gitignore").write_text("# resumable training state, see evolcoder/train/workdir.py\n*\n")
    run_dir = work / key_of(record)
    run_dir.mkdir(exist_ok=True)
    write_json(run_dir / RUN_RECORD, record)
    return run_dir


def last_checkpoint(run_dir: str | Path) -> Path | None:
    """The Trainer checkpoint with the highest step that finished saving, or None."""
    done = [p for p in Path(run_dir).glob("checkpoint-*")
            if re.fullmatch(r"checkpoint-\d+", p.name) and (p / "trainer_state.json").is_file()]
    return max(done, key=lambda p: int(p.name.split("-")[1]), default=None)


def remove_run_dir(run_dir: str | Path) -> None:
    """Drop a finished run's checkpoints: DVC's cache and run-cache hold its outputs."""
    shutil.rmtree(run_dir)


@contextmanager
def holding(run_dir: Path) -> Iterator[None]:
    """Hold the run folder's lock while its training runs; a second training of it is refused."""
    with open(run_dir / LOCK, "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise EvolcoderError(f"{run_dir} is being trained by another process; wait for it or stop it") from None
        yield


def in_use(run_dir: Path) -> bool:
    """Whether a training holds the run folder now."""
    if not (run_dir / LOCK).is_file():
        return False
    with open(run_dir / LOCK) as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


def source_run_dir(work_dir: str | Path, source: str) -> Path:
    """The run folder `train.continue_from` names: `<run key>` or `<run key>/checkpoint-<step>`,
    under `work_dir` (or an absolute path)."""
    path = Path(work_dir) / source
    return path.parent if path.name.startswith("checkpoint-") else path


def continue_run(run_dir: Path, source: str, work_dir: str | Path) -> dict[str, Any]:
    """Start `run_dir` from the checkpoint `source` names (its last one, for a run folder): the
    checkpoint (and a scratch model's initial model and tokenizer) linked in, so the Trainer
    resumes it at its step. Refused unless the recipe is the same but for the code. Returns
    {continued_from: '<run key>/checkpoint-<step>', continued_code_differs}; a restarted run
    returns what its first start recorded."""
    if (run_dir / CONTINUED).is_file():
        return read_json(run_dir / CONTINUED)
    source_dir = source_run_dir(work_dir, source)
    checkpoint = checkpoint_named(Path(work_dir) / source, source)
    there = read_record(source_dir, source)
    differences = recipe_differences(there, read_json(run_dir / RUN_RECORD))
    if differences:
        raise ConfigError(f"train.continue_from: {source} is a run of another recipe ({'; '.join(differences)}); "
                          "a run continues only a run of the same params, data and DeepSpeed config (the code may "
                          "differ): set those back, or train.continue_from: null to start from step 0")
    link_tree(checkpoint, run_dir / checkpoint.name)
    if (source_dir / "init").is_dir() and not (run_dir / "init").exists():
        link_tree(source_dir / "init", run_dir / "init")
    continued = {"continued_from": f"{source_dir.name}/{checkpoint.name}",
                 "continued_code_differs": there["code"] != code_version()}
    write_json(run_dir / CONTINUED, continued)
    return continued


def checkpoint_named(path: Path, source: str) -> Path:
    """The finished checkpoint at `path`, or a run folder's last one; a ConfigError naming what exists."""
    checkpoint = last_checkpoint(path) if not path.name.startswith("checkpoint-") else (
        path if (path / "trainer_state.json").is_file() else None)
    if checkpoint is not None:
        return checkpoint
    work = path.parent.parent if path.name.startswith("checkpoint-") else path.parent
    runs = [f"{p.name} ({last_checkpoint(p).name})" for p in sorted(work.glob("*"))
            if p.is_dir() and last_checkpoint(p)] if work.is_dir() else []
    raise ConfigError(f"train.continue_from: {source}: no finished checkpoint at {path} (a finished run's folder is "
                      f"removed, and so is every other by `python -m stages.train --clean`); runs with checkpoints "
                      f"under {work}: {', '.join(runs) or 'none'}. Set train.continue_from: null to start from step 0")


def read_record(run_dir: Path, source: str) -> dict[str, Any]:
    if not (run_dir / RUN_RECORD).is_file():
        raise ConfigError(f"train.continue_from: {source}: {run_dir} has no {RUN_RECORD} (a run folder made before "
                          "runs recorded their recipe), so its recipe cannot be checked; it cannot be continued")
    return read_json(run_dir / RUN_RECORD)


def recipe_differences(there: dict[str, Any], here: dict[str, Any]) -> list[str]:
    """What differs between two run records besides the code: dotted params, the data, the DeepSpeed config."""
    ours, theirs = flat(here["params"]), flat(there["params"])
    differences = [f"{key}: {theirs.get(key)!r} there, {ours.get(key)!r} here"
                   for key in sorted(set(ours) | set(theirs))
                   if key not in NOT_A_RECIPE and ours.get(key) != theirs.get(key)]
    if there["data"] != here["data"]:
        differences.append("the training data (sha256 differs)")
    if there["deepspeed"] != here["deepspeed"]:
        differences.append("the DeepSpeed config file's contents")
    return differences


def flat(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def link_tree(source: Path, target: Path) -> None:
    """`source` copied to `target` as hard links (no space taken; a copy across filesystems)."""
    if target.exists():  # a link interrupted before its run recorded it
        shutil.rmtree(target)
    shutil.copytree(source, target, copy_function=link_or_copy)


def link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another filesystem, or one without hard links
        shutil.copy2(source, target)


def clean_runs(work_dir: str | Path, keep: dict[str, str], dry_run: bool = False) -> list[tuple[Path, int]]:
    """Remove the run folders under `work_dir` but those in `keep` (key: why) and any a training
    holds; print each decision; return (folder, bytes freed) of each removed one."""
    removed = []
    work = Path(work_dir)
    for run_dir in sorted(p for p in work.iterdir() if p.is_dir()) if work.is_dir() else []:
        if run_dir.name in keep:
            print(f"train clean: kept {run_dir}: {keep[run_dir.name]}")
        elif in_use(run_dir):
            print(f"train clean: kept {run_dir}: a training is running in it")
        else:
            size = freed_bytes(run_dir)
            if not dry_run:
                shutil.rmtree(run_dir)
            print(f"train clean: {'would remove' if dry_run else 'removed'} {run_dir} ({size / 1e9:.2f} GB)")
            removed.append((run_dir, size))
    return removed


def freed_bytes(folder: Path) -> int:
    """Bytes that removing `folder` frees: files with no other hard link (a continued run shares its
    checkpoint's files with the run it continued)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            stat = os.lstat(os.path.join(root, name))
            total += stat.st_size if stat.st_nlink == 1 else 0
    return total
