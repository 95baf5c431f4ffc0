"""The evolve stage end to end: offline with dry-run, against the loopback server with faults,
and killed with SIGKILL mid-round then resumed from the call ledger."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evolcoder.evol.eliminate import API_ERROR, REASONS
from evolcoder.evol.prompts import parse_evolution_prompt
from evolcoder.evol.rewrite import rewrite
from evolcoder.jsonl import read_jsonl, write_jsonl
from evolcoder.llm import LLMConfig
from evolcoder.evol.pipeline import EvolvePaths
from stages import evolve as stage
from llm_server import LLMServer, ServerSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
PATHS = EvolvePaths()
TASKS = ("sum", "reverse", "sort", "count the vowels of", "deduplicate", "rotate", "flatten",
         "chunk", "zip", "invert")


def seeds(n: int) -> list[dict]:
    return [{"id": f"seed{i:02d}", "instruction": f"Write a function to {TASKS[i % len(TASKS)]} a list {i}.",
             "input": "", "output": f"def solve(xs):\n    return xs[{i}]", "source": "test"}
            for i in range(n)]


def make_workdir(path: Path, n_seeds: int, evolve: dict, llm: dict) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    write_jsonl(path / PATHS.seed, seeds(n_seeds))
    # JSON is YAML: the params file the stage reads; speed knobs go under runtime.llm
    runtime = {k: v for k, v in llm.items() if k in LLMConfig.RUNTIME}
    recipe = {k: v for k, v in llm.items() if k not in LLMConfig.RUNTIME}
    params = {"evolve": evolve, "llm": recipe, "runtime": {"llm": runtime}}
    (path / "params.yaml").write_text(json.dumps(params), encoding="utf-8")
    return path


def outputs(workdir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((workdir / PATHS.out_dir).iterdir())}


def all_records(workdir: Path) -> list[dict]:
    manifest = json.loads((workdir / PATHS.out_dir / "manifest.json").read_text())
    return [r for f in manifest["files"] for r in read_jsonl(workdir / PATHS.out_dir / f["path"])]


def run_in_process(workdir: Path, monkeypatch) -> dict:
    monkeypatch.chdir(workdir)
    stage.main()
    return json.loads((workdir / PATHS.metrics).read_text())


def test_dry_run_stage_offline(tmp_path, monkeypatch):
    work = make_workdir(tmp_path / "a", 6, {"rounds": 3}, {"provider": "dry-run"})
    metrics = run_in_process(work, monkeypatch)
    assert sorted(outputs(work)) == ["manifest.json", "round_1.jsonl", "round_2.jsonl", "round_3.jsonl"]
    records = all_records(work)
    assert len(records) == 18
    assert all(r["llm"]["provider"] == "dry-run" for r in records)
    assert all(r["eliminated"] is None and r["output"].startswith("Here is") for r in records)
    ids = {r["id"] for r in records} | {s["id"] for s in seeds(6)}
    assert all(r["parent_id"] in ids for r in records)
    assert metrics["provider"] == "dry-run" and metrics["total.cost_usd"] == 0
    assert metrics["round_1.attempted"] == 6 and metrics["round_3.kept"] == 6
    assert metrics["round_2.mean_instruction_words"] > metrics["round_1.mean_instruction_words"]
    assert {f"round_1.eliminated.{r}" for r in REASONS} <= set(metrics)

    again = make_workdir(tmp_path / "b", 6, {"rounds": 3}, {"provider": "dry-run"})
    run_in_process(again, monkeypatch)
    assert outputs(again) == outputs(work)  # deterministic, order and bytes

    # anyone holding the ledger rebuilds the rounds without calling anything
    (again / "params.yaml").write_text(json.dumps({"evolve": {"rounds": 3}, "llm": {"provider": "replay"}}))
    replayed = run_in_process(again, monkeypatch)
    assert outputs(again) == outputs(work)
    assert replayed == metrics  # the metrics describe the data, not the run that made it

    (work / "params.yaml").write_text(json.dumps({"evolve": {"rounds": 2}, "llm": {"provider": "dry-run"}}))
    run_in_process(work, monkeypatch)
    assert sorted(outputs(work)) == ["manifest.json", "round_1.jsonl", "round_2.jsonl"]  # stale round 3 gone


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


def test_stage_against_loopback_server_with_faults(tmp_path, monkeypatch):
    settings = ServerSettings(fault_rate=0.2, seed=3, retry_after="0.1", hang_s=1.0)
    with LLMServer(settings, evol_responder) as server:
        # 20% faults and one retry leave a few calls failed: accept those rounds on purpose
        work = make_workdir(tmp_path, 20, {"rounds": 2, "on_failure": "keep"}, loopback_llm(server.url))
        metrics = run_in_process(work, monkeypatch)
        stats = server.stats()
    assert len(stats["faults"]) == 5  # 429, 500, time-out, malformed JSON and empty choices all hit
    records = all_records(work)
    assert len(records) == 40
    outcomes = {r["eliminated"] for r in records}
    assert None in outcomes and API_ERROR in outcomes and len(outcomes - {None, API_ERROR}) >= 2
    for r in records:
        assert r["eliminated"] is None or r["eliminated"] in REASONS
        assert (r["error"] is not None) == (r["eliminated"] == API_ERROR)
        assert r["llm"]["provider"] == "openai"
    assert any("injected" in r["error"] or "llm.timeout_s" in r["error"]
               for r in records if r["error"])
    for k in (1, 2):
        eliminated = sum(metrics[f"round_{k}.eliminated.{r}"] for r in REASONS)
        assert metrics[f"round_{k}.kept"] + eliminated == metrics[f"round_{k}.attempted"] == 20
    assert sum(metrics[f"round_{k}.eliminated.{API_ERROR}"] for k in (1, 2)) == \
        sum(r["eliminated"] == API_ERROR for r in records)
    failed_calls = [metrics[f"round_{k}.failed_calls"] for k in (1, 2)]
    assert failed_calls == [metrics[f"round_{k}.eliminated.{API_ERROR}"] for k in (1, 2)]  # one failed call each
    assert metrics["on_failure"] == "keep"
    assert metrics["partial_rounds"] == sum(f / metrics[f"round_{k}.calls"] > 0.02 for k, f in zip((1, 2), failed_calls)) >= 1


def ledger_keys(workdir: Path) -> set[str]:
    path = workdir / PATHS.ledger / "ledger.sqlite"
    if not path.exists():
        return set()
    db = sqlite3.connect(path)
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'calls'").fetchone():
            return set()  # the stage has not created the table yet
        return {row[0] for row in db.execute("SELECT key FROM calls")}
    finally:
        db.close()


def start_stage(workdir: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen([sys.executable, "-m", "stages.evolve"], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> None:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, f"evolve stage failed:\n{out}\n{err}"


@pytest.mark.slow
def test_sigkill_mid_round_resumes_from_the_ledger(tmp_path, monkeypatch):
    llm = loopback_llm("", concurrency=4, max_retries=0, timeout_s=10)
    with LLMServer(ServerSettings(latency_s=0.05), evol_responder) as server:
        whole = make_workdir(tmp_path / "whole", 20, {"rounds": 2}, {**llm, "base_url": server.url})
        run_in_process(whole, monkeypatch)

    with LLMServer(ServerSettings(latency_s=0.05), evol_responder) as server:
        killed = make_workdir(tmp_path / "killed", 20, {"rounds": 2}, {**llm, "base_url": server.url})
        proc = start_stage(killed)
        deadline = time.monotonic() + 60
        while len(ledger_keys(killed)) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        answered_before_kill = ledger_keys(killed)
        assert 10 <= len(answered_before_kill) < 20, "the kill should land inside round 1's evolve batch"
        assert not (killed / PATHS.out_dir).exists()

        finish(start_stage(killed))
        received = server.stats()["received"]
    assert all(received[key] == 1 for key in answered_before_kill)
    assert outputs(killed) == outputs(whole)
