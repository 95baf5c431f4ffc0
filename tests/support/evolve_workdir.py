"""A working folder for the evolve stage (seed file, params) and what tests read back from it:
its outputs, its ledger's keys; the stage run in this process or as `python -m stages.evolve`;
and a deterministic stand-in teacher for the loopback servers."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from evolcoder.files.paths import EvolveFiles
from evolcoder.files.records import MANIFEST
from evolcoder.llm.prompts import parse_evolution_prompt
from evolcoder.llm.rewrite import rewrite
from evolcoder.jsonl import read_jsonl, write_jsonl
from stages import evolve as stage
from stages import run_stage
from tests.support.data import REPO_ROOT
from tests.support.llm_settings import RUNTIME_KNOBS

PATHS = EvolveFiles()
TASKS = ("sum", "reverse", "sort", "count the vowels of", "deduplicate", "rotate", "flatten",
         "chunk", "zip", "invert")


def seeds(n: int) -> list[dict]:
    return [{"id": f"seed{i:02d}", "instruction": f"Write a function to {TASKS[i % len(TASKS)]} a list {i}.",
             "input": "", "output": f"def solve(xs):\n    return xs[{i}]", "source": "test"}
            for i in range(n)]


def make_workdir(path: Path, n_seeds: int, evolve: dict, llm: dict) -> Path:
    """A folder holding `n_seeds` seed records and a params file; `llm`'s runtime knobs are
    written under runtime.llm."""
    path.mkdir(parents=True, exist_ok=True)
    write_jsonl(path / PATHS.seed, seeds(n_seeds))
    write_params(path, evolve, llm)
    return path


def write_params(path: Path, evolve: dict, llm: dict) -> None:
    runtime = {k: v for k, v in llm.items() if k in RUNTIME_KNOBS}
    recipe = {k: v for k, v in llm.items() if k not in RUNTIME_KNOBS}
    params = {"evolve": evolve, "llm": recipe, "runtime": {"llm": runtime}}
    (path / "params.yaml").write_text(json.dumps(params), encoding="utf-8")  # JSON is YAML


def outputs(workdir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((workdir / PATHS.out_dir).iterdir())}


def wrote_nothing(workdir: Path) -> bool:
    """Whether the stage left no output DVC would lock (the ledger is kept on purpose)."""
    return not (workdir / PATHS.out_dir).exists() and not (workdir / PATHS.metrics).exists()


def all_records(workdir: Path) -> list[dict]:
    manifest = json.loads((workdir / PATHS.out_dir / MANIFEST).read_text())
    return [r for f in manifest["files"] for r in read_jsonl(workdir / PATHS.out_dir / f["path"])]


def run_in_process(workdir: Path, monkeypatch) -> dict:
    """Run the stage's main in `workdir`; its counters (data/evol/stats.json)."""
    monkeypatch.chdir(workdir)
    stage.main()
    return json.loads((workdir / PATHS.stats).read_text())


def stage_error(workdir: Path, monkeypatch, capsys) -> str:
    """Run the stage as DVC does (`run_stage`: exit status 1, one line of error) in this process,
    expecting it to fail; its stderr."""
    monkeypatch.chdir(workdir)
    with pytest.raises(SystemExit) as exited:
        run_stage("evolve", stage.main)
    assert exited.value.code == 1
    return capsys.readouterr().err


def ledger_keys(workdir: Path) -> set[str]:
    return ledger_folder_keys(workdir / PATHS.ledger)


def ledger_folder_keys(folder: Path) -> set[str]:
    """The keys a ledger folder holds, read as another process would."""
    return {row[0] for row in ledger_rows(folder, "calls", "SELECT key FROM calls")}


def ledger_rows(folder: Path, table: str, query: str) -> list[tuple]:
    """The rows of `query` on a ledger folder's database, read as another process would; none
    before the stage has created `table`."""
    path = folder / "ledger.sqlite"
    if not path.exists():
        return []
    db = sqlite3.connect(path)
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone():
            return []
        return db.execute(query).fetchall()
    finally:
        db.close()


def start_stage(workdir: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen([sys.executable, "-m", "stages.evolve"], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> None:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, f"evolve stage failed:\n{out}\n{err}"


def evol_responder(body: dict) -> str:
    """A deterministic stand-in model that sometimes leaks prompt words or apologises."""
    prompt = body["messages"][-1]["content"]
    digest = int(hashlib.sha256(prompt.encode()).hexdigest()[:8], 16)
    evolution = parse_evolution_prompt(prompt)
    if evolution is not None:
        if digest % 4 == 0:
            return f"#Rewritten Prompt#:\n{evolution.question} Use recursion."
        return rewrite(evolution.method, evolution.question, digest)
    if digest % 5 == 0:
        return "Sorry, I cannot answer that."
    return f"Here is a solution.\n```python\ndef solve(xs):\n    return xs[:{digest % 7}]\n```"


def loopback_llm(url: str, **overrides) -> dict:
    return {"provider": "openai", "model": "gpt-3.5-turbo", "base_url": url, "api_key_env": None,
            "concurrency": 8, "max_retries": 1, "backoff_base_s": 0.05, "backoff_max_s": 0.2,
            "timeout_s": 0.5, **overrides}
