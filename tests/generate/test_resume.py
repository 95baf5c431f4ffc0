"""A generation killed mid-run resumes where it stopped and ends with the same merged file."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evolcoder.benchmarks import get
from evolcoder.cli import main as cli_main
from evolcoder.jsonl import write_jsonl

N_TASKS = 12
SHARD = Path("data/generations/.work/humaneval/shard-0-of-1.jsonl")


def _project(folder: Path, checkpoint: Path, max_new_tokens: int = 16, batch_size: int = 1) -> Path:
    """A working folder with a params file and a 12-task HumanEval file."""
    write_jsonl(folder / "data/benchmarks/humaneval.jsonl", get("humaneval").public_rows()[:N_TASKS])
    (folder / "params.yaml").write_text(
        f"generate:\n  model: {checkpoint}\n  max_new_tokens: {max_new_tokens}\n"
        f"benchmarks: [humaneval]\n"
        f"runtime:\n  generate:\n    batch_size: {batch_size}\n")
    return folder


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.mark.slow
def test_killed_generation_resumes_to_the_same_merged_file(tiny_checkpoint, tmp_path, monkeypatch):
    whole = _project(tmp_path / "whole", tiny_checkpoint)
    monkeypatch.chdir(whole)
    assert cli_main(["generate", "humaneval"]) == 0

    killed = _project(tmp_path / "killed", tiny_checkpoint)
    proc = subprocess.Popen([sys.executable, "-m", "evolcoder.cli", "generate", "humaneval"], cwd=killed,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while _lines(killed / SHARD) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = _lines(killed / SHARD)
    assert 3 <= done < N_TASKS, f"the kill landed after {done} of {N_TASKS} tasks"
    with open(killed / SHARD, "ab") as f:
        f.write(b'{"task_id": "HumanEval/11", "sample": 0, "prom')  # a write torn by the kill

    monkeypatch.chdir(killed)
    assert cli_main(["generate", "humaneval"]) == 0
    merged = "data/generations/humaneval.jsonl"
    assert (killed / merged).read_bytes() == (whole / merged).read_bytes()
    assert _lines(killed / SHARD) == N_TASKS  # the resumed run added only what was missing


def test_shards_run_separately_then_merge(tiny_checkpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(_project(tmp_path / "nodes", tiny_checkpoint, max_new_tokens=4, batch_size=12))
    assert cli_main(["generate", "humaneval", "--shard", "0/2"]) == 0
    capsys.readouterr()
    assert cli_main(["generate", "humaneval", "--merge"]) == 2
    missing = capsys.readouterr().err
    assert "6 of 12 task x sample generations are missing" in missing and "Traceback" not in missing
    assert cli_main(["generate", "humaneval", "--shard", "1/2"]) == 0
    assert cli_main(["generate", "humaneval", "--merge"]) == 0
    rows = [json.loads(line) for line in Path("data/generations/humaneval.jsonl").read_text().splitlines()]
    assert [r["task_id"] for r in rows] == [f"HumanEval/{i}" for i in range(N_TASKS)]
    meta = json.loads(Path("data/generations/humaneval.meta.json").read_text())
    assert meta["batch_sizes"] == {"12": N_TASKS} and not meta["mixed_batch_shapes"]  # each shard in one call
    assert any(f"HumanEval/{i} sample 0" in missing for i in range(N_TASKS))
