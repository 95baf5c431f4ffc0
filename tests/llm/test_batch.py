"""`llm.provider: openai-batch` against the loopback Batch API (tests/support/batch_server.py): input files
cut to the limits, answers into the ledger at the batch price, expired, failed and cancelled
batches and failed lines retried in new batches, stray lines ignored, the journal, the budget."""

from __future__ import annotations

import json

import openai
import pytest
from tests.support.batch_server import BatchServer, BatchSettings
from tests.support.llm_server import hash_responder

from evolcoder.errors import EvolcoderError
from evolcoder.llm import BudgetExceeded, ChatRequest, LLMClient, LLMConfig, LLMRuntime
from evolcoder.llm.batch_files import input_file, request_line, split_parts
from evolcoder.llm.openai_api import chat_body
from evolcoder.llm.usage import Pricing
from tests.support.llm_settings import llm_settings

MODEL = "gpt-3.5-turbo"


def requests(n: int, max_tokens: int = 64) -> list[ChatRequest]:
    return [ChatRequest(messages=(("user", f"Write function number {i}."),), model=MODEL, max_tokens=max_tokens,
                        meta={"stage": "evolve", "round": 1, "purpose": "answer", "item_id": f"item{i}"})
            for i in range(n)]


def config(server: BatchServer, **overrides) -> tuple[LLMConfig, LLMRuntime]:
    values = dict(provider="openai-batch", model=MODEL, base_url=server.url, api_key_env=None, batch_poll_s=0.01,
                  batch_poll_max_s=0.02, max_retries=3, backoff_base_s=0.01, backoff_max_s=0.02)
    return llm_settings(**{**values, **overrides})


def test_input_files_are_cut_to_the_request_and_byte_limits():
    batch = requests(10)
    line = len(request_line(batch[0]))
    parts = split_parts(batch, max_requests=4, max_bytes=3 * line)
    assert [len(p) for p in parts] == [3, 3, 3, 1]  # bytes bind before the request count
    assert [r for p in parts for r in p] == batch
    assert all(len(input_file(p)) <= 3 * line for p in parts)
    assert [len(p) for p in split_parts(batch, max_requests=4, max_bytes=10**6)] == [4, 4, 2]
    first = json.loads(request_line(batch[0]))
    assert first == {"custom_id": batch[0].key(), "method": "POST", "url": "/v1/chat/completions",
                     "body": chat_body(batch[0])}
    with pytest.raises(EvolcoderError, match="more than runtime.llm.batch_max_bytes"):
        split_parts(batch, max_requests=4, max_bytes=line - 1)


def test_a_batch_run_answers_every_call_into_the_ledger_at_the_batch_price(ledger):
    batch = requests(7)
    with BatchServer() as server:
        client = LLMClient(*config(server, batch_max_requests=3), ledger)
        results = client.run(batch, desc="round 1/1 answer")
        stats = server.stats()
        rerun = LLMClient(*config(server), ledger).run(batch)
        assert server.stats()["requests"] == stats["requests"]  # a rerun is answered by the ledger
    assert all(r.cached for r in rerun) and [r.text for r in rerun] == [r.text for r in results]
    assert [r.text for r in results] == [hash_responder(chat_body(r)) for r in batch]
    assert all(r.ok and r.provider == "openai-batch" and r.attempts == 1 for r in results)
    assert len(stats["batches"]) == 3 and set(stats["batches"].values()) == {"completed"}
    assert stats["submitted"] == {r.key(): 1 for r in batch}
    assert len(ledger) == 7 and ledger.open_batches() == []
    list_price = Pricing.of(LLMConfig(model=MODEL, provider="openai"))
    batch_price = Pricing.of(config(server)[0])
    for result in results:
        assert result.cost_usd == pytest.approx(batch_price.cost(result.prompt_tokens, result.completion_tokens))
        assert result.cost_usd == pytest.approx(list_price.cost(result.prompt_tokens, result.completion_tokens) / 2)


def test_expired_failed_and_cancelled_batches_are_retried_in_new_batches(ledger):
    batch = requests(8)
    settings = BatchSettings(endings=["expired", "failed", "cancelled"])
    with BatchServer(settings) as server:
        results = LLMClient(*config(server, batch_max_requests=4), ledger).run(batch)
        stats = server.stats()
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert list(stats["batches"].values()) == ["expired", "failed", "cancelled", "completed", "completed"]
    submitted = [stats["submitted"][r.key()] for r in batch]
    # the expired batch (the first file) answered the first half of its calls, never sent again;
    # the six left went out again in order, four a file: the first four in the batch that was
    # cancelled (so a third time after it), the last two in one that completed
    assert submitted == [1, 1, 3, 3, 3, 3, 2, 2]
    assert [r.attempts for r in results] == submitted
    assert len(ledger) == 8 and ledger.open_batches() == []


def test_failed_lines_are_retried_and_stray_lines_never_reach_the_ledger(ledger):
    batch = requests(8)
    with BatchServer(BatchSettings(error_rate=0.3, unknown_lines=2, seed=1)) as server:
        results = LLMClient(*config(server, max_retries=6), ledger).run(batch)
        stats = server.stats()
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert max(r.attempts for r in results) >= 2 and len(stats["batches"]) >= 2
    assert len(ledger) == 8 and all(ledger.get(r.key()) is not None for r in batch)  # the 8 calls, no stray id


def test_a_call_that_keeps_failing_is_recorded_with_its_cause_after_its_retries(ledger):
    batch = requests(3)
    with BatchServer(BatchSettings(drop_lines=1)) as server:  # each output file loses its first line
        results = LLMClient(*config(server, max_retries=1), ledger).run(batch)
    dropped = results[0]
    assert not dropped.ok and dropped.error_kind == "missing_from_output" and dropped.attempts == 2
    assert "no result line for this call in batch batch_" in dropped.error
    assert dropped.error.endswith("(gave up after 2 batches)")
    assert all(r.ok for r in results[1:]) and len(ledger) == 2


def test_a_journaled_file_whose_batch_id_was_lost_is_found_not_submitted_again(ledger):
    batch = requests(4)
    with BatchServer() as server:
        # a run killed after creating the batch, before journaling its id
        api = openai.OpenAI(api_key="no-key", base_url=server.url)
        file = api.files.create(file=("lost.jsonl", input_file(batch)), purpose="batch")
        api.batches.create(input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h")
        ledger.add_batch_file(file.id, "lost", file.created_at, batch)
        results = LLMClient(*config(server), ledger).run(batch)
        stats = server.stats()
    assert all(r.ok for r in results)
    assert list(stats["batches"]) == ["batch_000001"] and stats["polls"]["batch_000001"] >= 1
    assert stats["submitted"] == {r.key(): 1 for r in batch}
    assert ledger.open_batches() == []


def test_the_budget_limits_what_is_submitted_and_a_rerun_continues(ledger):
    batch = requests(12, max_tokens=200)
    with BatchServer(responder=lambda body: "word " * 150) as server:  # answers at 3/4 of max_tokens
        probe = LLMClient(*config(server, max_cost_usd=1.0), ledger).budget
        limit = 3.5 * probe.worst_case(batch[0])
        with pytest.raises(BudgetExceeded) as raised:
            LLMClient(*config(server, max_cost_usd=limit, batch_max_requests=2), ledger).run(batch)
        # three calls' worst cases fit (a file of two, one of one); once they cost 3 x 3/4,
        # one more fits; then not even one: four answered, never more than the budget
        assert len(ledger) == 4 and raised.value.unsent == 8
        assert sum(ledger.get(r.key()).cost_usd for r in batch[:4]) <= limit
        assert len(server.stats()["batches"]) == 3
        results = LLMClient(*config(server, max_cost_usd=1.0, batch_max_requests=2), ledger).run(batch)
        stats = server.stats()
    assert all(r.ok for r in results)
    assert stats["submitted"] == {r.key(): 1 for r in batch}  # no call went out twice


def test_batch_limits_are_the_apis_at_most():
    with pytest.raises(EvolcoderError, match="^runtime.llm.batch_max_requests: must be between 1 and 50,000"):
        LLMRuntime(batch_max_requests=50_001)
    with pytest.raises(EvolcoderError, match="^runtime.llm.batch_poll_s: must be positive and at most "
                                             "runtime.llm.batch_poll_max_s"):
        LLMRuntime(batch_poll_s=700, batch_poll_max_s=600)
