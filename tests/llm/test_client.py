"""The LLM client and the openai provider against the loopback server (tests/support/llm_server.py)."""

from __future__ import annotations

import pytest
from tests.support.llm_server import ServerProcess

from evolcoder.llm import ChatRequest, ChatResult, LLMClient, LLMConfig, LLMRuntime, ProviderConfigError
from tests.support.llm_settings import llm_settings
from evolcoder.llm.usage import Pricing

MODEL = "gpt-3.5-turbo"


def requests(n: int, model: str = MODEL, **kwargs) -> list[ChatRequest]:
    return [ChatRequest(messages=(("system", "be brief"), ("user", f"question {i}")), model=model,
                        meta={"stage": "test", "purpose": "answer", "item_id": i}, **kwargs) for i in range(n)]


def config(server, **overrides) -> tuple[LLMConfig, LLMRuntime]:
    values = dict(provider="openai", base_url=server.url, api_key_env=None, concurrency=8,
                  backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=5.0)
    return llm_settings(**{**values, **overrides})


def test_answers_keep_order_and_the_ledger_answers_a_rerun(llm_server, ledger):
    batch = requests(12)
    first = LLMClient(*config(llm_server), ledger).run(batch)
    assert [r.key for r in first] == [r.key() for r in batch]
    assert all(r.ok and r.provider == "openai" and r.text.startswith("Answer ") for r in first)
    assert len(ledger) == 12

    again = LLMClient(*config(llm_server), ledger)
    second = again.run(batch)
    assert [r.text for r in second] == [r.text for r in first]
    assert all(r.cached for r in second)
    assert llm_server.stats()["requests"] == 12  # the rerun sent nothing
    assert again.usage.as_dict()["calls"] == 0 and again.usage.cached == 12


def test_duplicate_requests_in_a_batch_are_sent_once(llm_server, ledger):
    batch = requests(3) * 2
    results = LLMClient(*config(llm_server), ledger).run(batch)
    assert [r.text for r in results[:3]] == [r.text for r in results[3:]]
    assert llm_server.stats()["requests"] == 3


def test_twenty_percent_faults_of_every_kind_still_complete(llm_server, ledger):
    llm_server.settings.fault_rate = 0.2
    llm_server.settings.retry_after = "0.05"
    llm_server.settings.hang_s = 3.0
    client = LLMClient(*config(llm_server, timeout_s=1.0, concurrency=16), ledger)
    results = client.run(requests(80))

    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    stats = llm_server.stats()
    assert set(stats["faults"]) == {"429", "500", "timeout", "malformed", "empty"}
    assert client.usage.retries >= sum(stats["faults"].values())  # each fault cost a retry
    assert stats["answers"] == 80 and len(ledger) == 80


def test_retry_after_is_honoured_on_429_and_500(llm_server, ledger):
    settings = llm_server.settings
    settings.fault_rate, settings.max_faults_per_key = 1.0, 1
    settings.fault_kinds, settings.retry_after, settings.retry_after_on_500 = ("429", "500"), "1", True
    delays = []

    class Recording(LLMClient):
        def retry_delay(self, attempt, retry_after):
            delays.append(super().retry_delay(attempt, retry_after))
            return delays[-1]

    results = Recording(*config(llm_server, backoff_base_s=0.001, backoff_max_s=5.0), ledger).run(requests(4))
    # Backoff alone would wait about a millisecond; the server asked for a second.
    assert delays == [1.0] * 4
    assert [r.attempts for r in results] == [2, 2, 2, 2]
    assert sum(llm_server.stats()["faults"].values()) == 4


def test_a_call_that_keeps_failing_is_recorded_with_its_error_and_retried_next_run(llm_server, ledger):
    llm_server.settings.fault_rate, llm_server.settings.fault_kinds = 1.0, ("500",)
    client = LLMClient(*config(llm_server, max_retries=2), ledger)
    results = client.run(requests(3))

    assert [r.ok for r in results] == [False] * 3
    error = results[0].error
    assert error.startswith(f"HTTP 500 from {llm_server.url}/chat/completions (request id req_")
    assert "gave up after 3 attempts" in error
    assert client.usage.failed == 3 and client.usage.retries == 6
    assert len(ledger) == 0 and llm_server.stats()["requests"] == 9

    llm_server.settings.fault_rate = 0.0
    assert all(r.ok for r in LLMClient(*config(llm_server), ledger).run(requests(3)))


@pytest.mark.parametrize(("kind", "message"), [("malformed", "malformed JSON from"), ("empty", "no choices in the answer from")])
def test_broken_answers_name_the_request_id(llm_server, ledger, kind, message):
    llm_server.settings.fault_rate, llm_server.settings.fault_kinds = 1.0, (kind,)
    (result,) = LLMClient(*config(llm_server, max_retries=0), ledger).run(requests(1))
    assert result.error.startswith(f"{message} {llm_server.url}/chat/completions (request id req_000001)")


def test_an_unreachable_server_is_recorded_as_a_connection_failure(ledger):
    closed = llm_settings(provider="openai", base_url="http://127.0.0.1:9/v1", api_key_env=None, max_retries=1,
                          backoff_base_s=0.01, backoff_max_s=0.01)
    (result,) = LLMClient(*closed, ledger).run(requests(1))
    assert result.error.startswith("connection to http://127.0.0.1:9/v1/chat/completions failed: ConnectionRefused")
    assert "item_id=0" in result.error and result.attempts == 2


def test_no_more_than_the_configured_calls_are_in_flight(llm_server, ledger):
    llm_server.settings.latency_s = 0.05
    LLMClient(*config(llm_server, concurrency=3), ledger).run(requests(30))
    assert 1 < llm_server.stats()["max_in_flight"] <= 3


def test_a_missing_api_key_fails_before_any_call(llm_server, ledger, monkeypatch):
    monkeypatch.delenv("EVOLCODER_TEST_KEY", raising=False)
    with pytest.raises(ProviderConfigError, match="EVOLCODER_TEST_KEY.*llm.api_key_env: null"):
        LLMClient(*config(llm_server, api_key_env="EVOLCODER_TEST_KEY"), ledger)
    assert llm_server.stats()["requests"] == 0

    monkeypatch.setenv("EVOLCODER_TEST_KEY", "sk-test")
    assert LLMClient(*config(llm_server, api_key_env="EVOLCODER_TEST_KEY"), ledger).run(requests(1))[0].ok
    assert llm_server.stats()["api_keys"] == ["sk-test"]


def test_a_rejected_key_stops_the_run_with_what_to_check(llm_server, ledger):
    llm_server.settings.fault_rate, llm_server.settings.fault_kinds = 1.0, ("401",)
    client = LLMClient(*config(llm_server, concurrency=1), ledger)
    with pytest.raises(ProviderConfigError, match="(?s)HTTP 401 .*Check llm.base_url, llm.model and the key"):
        client.run(requests(5))
    assert llm_server.stats()["requests"] <= 2  # no retry; the rest are cancelled (one may be on its way)


def test_the_server_runs_in_its_own_process_and_counts_receipts_per_key(ledger):
    with ServerProcess("--fault-rate", "1", "--fault-kinds", "500", "--seed", "1") as server:
        client = LLMClient(*llm_settings(provider="openai", base_url=server.url, api_key_env=None, max_retries=1,
                                         backoff_base_s=0.01, backoff_max_s=0.01), ledger)
        batch = requests(2)
        client.run(batch)
        stats = server.stats()
    assert stats["received"] == {r.key(): 2 for r in batch}  # keyed by the ledger key
    assert stats["faults"] == {"500": 4} and stats["answers"] == 0


def test_dry_run_answers_in_the_ledger_never_stand_in_for_a_model(llm_server, ledger):
    batch = requests(2)
    for request in batch:
        ledger.put(request, ChatResult(key=request.key(), text="rule-based", finish_reason="stop", provider="dry-run"))
    with pytest.raises(ProviderConfigError, match="2 of these calls with dry-run answers"):
        LLMClient(*config(llm_server), ledger).run(batch)
    assert llm_server.stats()["requests"] == 0


def test_tokens_and_cost_are_summed_from_the_price_table(llm_server, ledger):
    client = LLMClient(*config(llm_server, model="gpt-4"), ledger)
    results = client.run(requests(5, model="gpt-4"))
    prompt = sum(r.prompt_tokens for r in results)
    completion = sum(r.completion_tokens for r in results)
    assert prompt == 5 * 4  # "be brief" + "question i": the server counts words
    assert client.usage.prompt_tokens == prompt and client.usage.completion_tokens == completion
    assert client.usage.cost_usd == pytest.approx((prompt * 0.03 + completion * 0.06) / 1000)
    assert results[0].cost_usd == pytest.approx(Pricing.of(client.config).cost(results[0].prompt_tokens,
                                                                               results[0].completion_tokens))
    assert Pricing.of(config(llm_server, model="my-local-model")[0]).cost(1000, 1000) == 0.0
