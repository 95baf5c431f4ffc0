"""The evolve stage through the Batch API (`llm.provider: openai-batch`) against the loopback
Batch API (tests/support/batch_server.py): the same data as a run without interruption, and a run killed
with SIGKILL while it polls resumes the batch it had submitted, never submitting a call twice."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from tests.support.batch_server import BatchServer, BatchSettings
from tests.support.evolve_workdir import (PATHS, all_records, evol_responder, ledger_rows, make_workdir, outputs, run_in_process,
                            start_stage)


def batch_llm(url: str) -> dict:
    return {"provider": "openai-batch", "model": "gpt-3.5-turbo", "base_url": url, "api_key_env": None,
            "batch_poll_s": 0.02, "batch_poll_max_s": 0.05, "max_retries": 2, "backoff_base_s": 0.01,
            "backoff_max_s": 0.05}


def journaled_batch_ids(workdir: Path) -> list[str]:
    """Batch ids the stage's ledger journals, read as another process would."""
    rows = ledger_rows(workdir / PATHS.ledger, "batches", "SELECT batch_id FROM batches WHERE batch_id IS NOT NULL")
    return [row[0] for row in rows]


@pytest.mark.slow
def test_a_batch_run_killed_while_polling_resumes_the_same_batch(tmp_path, monkeypatch):
    with BatchServer(responder=evol_responder) as server:
        whole = make_workdir(tmp_path / "whole", 10, {"rounds": 2}, batch_llm(server.url))
        metrics = run_in_process(whole, monkeypatch)
        batches_needed = len(server.stats()["batches"])
    assert {r["llm"]["provider"] for r in all_records(whole)} == {"openai-batch"}
    assert metrics["total.calls"] > 20 and batches_needed == 4  # evolve and answer, two rounds

    with BatchServer(BatchSettings(hold=True), responder=evol_responder) as server:
        killed = make_workdir(tmp_path / "killed", 10, {"rounds": 2}, batch_llm(server.url))
        proc = start_stage(killed)
        deadline = time.monotonic() + 60
        while (not journaled_batch_ids(killed) or server.stats()["polls"].get("batch_000001", 0) < 3) \
                and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        assert journaled_batch_ids(killed) == ["batch_000001"]
        assert server.stats()["batches"] == {"batch_000001": "in_progress"}
        polls_before_kill = server.stats()["polls"]["batch_000001"]

        server.settings.hold = False  # the batch goes on at the server while nobody waits for it
        run_in_process(killed, monkeypatch)
        stats = server.stats()
    assert stats["polls"]["batch_000001"] > polls_before_kill  # the rerun polled the batch it had submitted
    assert len(stats["batches"]) == batches_needed
    assert set(stats["submitted"].values()) == {1}  # and submitted no call twice
    assert outputs(killed) == outputs(whole)
