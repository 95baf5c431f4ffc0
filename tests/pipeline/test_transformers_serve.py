"""The `openai` provider and the `openai` generation backend against a server the project did not
write: Hugging Face's `transformers serve`, serving a tiny checkpoint (tests/support/transformers_serve.py).

A random tiny model writes no usable instruction or answer, so its first round breaches the
failure policy, as a garbage teacher must; accepted with `evolve.on_failure: keep`, the records
and the ledger hold what the server answered, with its real token counts."""

from __future__ import annotations

import pytest
from tests.support.evolve_workdir import (PATHS, all_records, ledger_folder_keys, make_workdir, run_in_process, stage_error,
                            wrote_nothing, write_params)

from evolcoder.benchmarks import load_benchmark
from evolcoder.generate.config import GenerateConfig, GenerateRuntime
from evolcoder.generate.runner import generate_benchmark
from evolcoder.jsonl import read_jsonl
from evolcoder.llm import Ledger, LLMConfig

pytestmark = pytest.mark.slow


def served_llm(server, **overrides) -> dict:
    return {"provider": "openai", "model": server.model, "base_url": server.url, "api_key_env": None,
            "max_tokens": 16, "concurrency": 2, "max_retries": 1, "timeout_s": 120, **overrides}


def test_evolve_against_transformers_serve(transformers_server, tmp_path, monkeypatch, capsys):
    work = make_workdir(tmp_path, 4, {"rounds": 1}, served_llm(transformers_server))
    before = transformers_server.chat_requests()
    err = stage_error(work, monkeypatch, capsys)
    sent = transformers_server.chat_requests() - before
    assert "round 1 breached the failure policy" in err and "0 of 4 evolutions kept" in err
    assert f"teacher: model {transformers_server.model} (llm.provider openai) at {transformers_server.url}" in err
    assert wrote_nothing(work)
    with Ledger(work / PATHS.ledger) as ledger:
        assert len(ledger) == sent >= 4  # every answer the server gave, and nothing else

    write_params(work, {"rounds": 1, "on_failure": "keep"}, served_llm(transformers_server))
    metrics = run_in_process(work, monkeypatch)
    assert transformers_server.chat_requests() - before == sent  # the rerun was answered by the ledger
    records = all_records(work)
    assert len(records) == 4 and metrics["round_1.partial"]
    assert metrics["round_1.calls"] == sum(len(r["llm"]["keys"]) for r in records) >= sent  # equal prompts share a call
    with Ledger(work / PATHS.ledger) as ledger:
        for record in records:
            assert record["llm"]["provider"] == "openai" and record["error"] is None
            for key in record["llm"]["keys"].values():
                answer = ledger.get(key)
                assert answer.provider == "openai" and answer.text is not None
                assert answer.prompt_tokens > 0 and 0 < answer.completion_tokens <= 16  # the server's own counts


def test_generate_through_transformers_serve_matches_the_transformers_backend(transformers_server, tiny_checkpoint,
                                                                              tmp_path):
    problems = load_benchmark("humaneval")[:3]
    batches_of_3 = GenerateRuntime(batch_size=3)
    local = GenerateConfig(model=str(tiny_checkpoint), max_new_tokens=12)
    generate_benchmark(local, batches_of_3, "humaneval", problems, tmp_path / "local.jsonl", tmp_path / "local")
    server = LLMConfig(provider="openai", model=transformers_server.model, base_url=transformers_server.url,
                       api_key_env=None)
    served = GenerateConfig(backend="openai", server=server, max_new_tokens=12)
    generate_benchmark(served, batches_of_3, "humaneval", problems, tmp_path / "served.jsonl", tmp_path / "served")

    local_rows, served_rows = read_jsonl(tmp_path / "local.jsonl"), read_jsonl(tmp_path / "served.jsonl")
    assert [r["task_id"] for r in served_rows] == [p.task_id for p in problems]
    # greedy on the same weights: the server saw exactly the prompt, and answered what the model writes
    assert [r["response"] for r in served_rows] == [r["response"] for r in local_rows]
    keys = ledger_folder_keys(tmp_path / "served" / "ledger")
    with Ledger(tmp_path / "served" / "ledger") as ledger:
        assert len(keys) == 3 and all(0 < ledger.get(key).completion_tokens <= 12 for key in keys)
