"""The evolve stage end to end: offline with dry-run, against the loopback server with faults,
and killed with SIGKILL mid-round then resumed from the call ledger."""

from __future__ import annotations

import json
import signal
import time

import pytest
from tests.support.evolve_workdir import (PATHS, all_records, evol_responder, finish, ledger_keys, loopback_llm, make_workdir,
                            outputs, run_in_process, seeds, start_stage)
from tests.support.llm_server import LLMServer, ServerSettings

from evolcoder.evolve.eliminate import API_ERROR, REASONS


def test_dry_run_stage_offline(tmp_path, monkeypatch):
    work = make_workdir(tmp_path / "a", 6, {"rounds": 3}, {"provider": "dry-run"})
    metrics = run_in_process(work, monkeypatch)
    assert sorted(outputs(work)) == ["manifest.json", "round_1.jsonl", "round_2.jsonl", "round_3.jsonl", "stats.json"]
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
    headline = json.loads((work / "metrics/evolve.json").read_text())
    assert headline == {"provider": "dry-run", "kept_total": 18, "total.calls": metrics["total.calls"],
                        "total.cost_usd": 0, "partial_rounds": 0, "on_failure": "fail"}

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
    assert sorted(outputs(work)) == ["manifest.json", "round_1.jsonl", "round_2.jsonl", "stats.json"]  # stale round 3 gone


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
    assert any("injected" in r["error"] or "runtime.llm.timeout_s" in r["error"]
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
