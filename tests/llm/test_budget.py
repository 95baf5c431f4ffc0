"""`runtime.llm.max_cost_usd`: the client stops before the calls would cost more, and a rerun with a
higher budget continues from the ledger; against the loopback server (tests/support/llm_server.py)."""

from __future__ import annotations

import pytest

from evolcoder.config import ConfigError
from evolcoder.llm import BudgetExceeded, ChatRequest, LLMClient, LLMConfig, LLMRuntime
from evolcoder.llm.budget import Budget
from evolcoder.llm.usage import Pricing
from tests.support.llm_settings import llm_settings

MODEL = "gpt-4"  # $0.03 / $0.06 per 1k tokens: a few calls cost cents


def requests(n: int) -> list[ChatRequest]:
    return [ChatRequest(messages=(("user", f"question number {i}"),), model=MODEL, max_tokens=100,
                        meta={"stage": "test", "purpose": "answer", "item_id": i}) for i in range(n)]


def config(server, budget: float | None, **overrides) -> tuple[LLMConfig, LLMRuntime]:
    return llm_settings(provider="openai", model=MODEL, base_url=server.url, api_key_env=None, max_cost_usd=budget,
                        concurrency=4, **overrides)


def test_the_budget_stops_the_calls_before_it_is_exceeded_and_a_rerun_continues(llm_server, ledger):
    batch = requests(30)
    worst = Budget.of(*config(llm_server, 1.0), spent=lambda: 0).worst_case(batch[0])  # 100 completion tokens bound it
    actual = Pricing.of(config(llm_server, 1.0)[0]).cost(3, 5)  # the server counts words: 3 asked, 5 answered
    limit = worst + 10.5 * actual
    client = LLMClient(*config(llm_server, limit), ledger)
    with pytest.raises(BudgetExceeded) as raised:
        client.run(batch, desc="test answers")
    answered = len(ledger)
    # A call goes out while what was spent plus its worst case fits: answers far shorter than
    # max_tokens leave room for more calls than the worst case alone would allow.
    assert answered == 11
    assert client.usage.cost_usd == pytest.approx(11 * actual) and client.usage.cost_usd + worst > limit
    message = str(raised.value)
    assert f"spent ${client.usage.cost_usd:.6f}" in message and f"runtime.llm.max_cost_usd=${limit:g}" in message
    assert f"{30 - answered} call(s) of test answers were not sent" in message
    assert raised.value.unsent == 30 - answered
    assert llm_server.stats()["requests"] == answered  # nothing was sent that was not answered and stored

    everything = config(llm_server, 100.0)
    results = LLMClient(*everything, ledger).run(batch)
    assert all(r.ok for r in results) and len(ledger) == 30
    assert all(n == 1 for n in llm_server.stats()["received"].values())  # the rerun sent only the rest
    assert sum(r.cost_usd for r in results) <= 100.0


def test_ledger_answers_count_against_the_budget(llm_server, ledger):
    batch = requests(4)
    LLMClient(*config(llm_server, None), ledger).run(batch)
    spent = sum(ledger.get(r.key()).cost_usd for r in batch)
    with pytest.raises(BudgetExceeded, match=r"1 call\(s\) of llm calls were not sent") as raised:
        LLMClient(*config(llm_server, spent * 1.01), ledger).run(requests(5))
    assert raised.value.unsent == 1  # the four ledger answers used the budget up; the fifth is not sent
    assert llm_server.stats()["requests"] == 4


def test_a_budget_smaller_than_one_call_is_refused_before_sending_and_names_the_minimum(llm_server, ledger):
    batch = requests(3)
    minimum = Budget.of(*config(llm_server, 1.0), spent=lambda: 0).worst_case(batch[0])
    with pytest.raises(BudgetExceeded) as raised:
        LLMClient(*config(llm_server, minimum / 2), ledger).run(batch, desc="round 1/2 evolve")
    message = str(raised.value)
    assert "is less than one call can cost" in message and "round 1/2 evolve" in message
    assert f"costs up to ${minimum:.6f}" in message and "nothing was sent" in message
    assert llm_server.stats()["requests"] == 0 and len(ledger) == 0


def test_the_budget_needs_a_price_and_the_batch_provider_a_batch_price():
    with pytest.raises(ConfigError, match="^runtime.llm.max_cost_usd: needs the price of model my-model in llm.prices"):
        Budget.of(LLMConfig(model="my-model"), LLMRuntime(max_cost_usd=5.0), spent=lambda: 0)
    with pytest.raises(ConfigError, match="^runtime.llm.max_cost_usd: must be positive"):
        LLMRuntime(max_cost_usd=0)
    with pytest.raises(ConfigError, match="llm.prices.m: llm.provider is openai-batch: add batch_prompt"):
        LLMConfig(provider="openai-batch", model="m", prices={"m": {"prompt": 1.0, "completion": 2.0}})
    with pytest.raises(ConfigError, match="llm.prices.m: needs the keys prompt and completion"):
        LLMConfig(prices={"m": {"prompt": 1.0, "completion": 2.0, "batch_prompt": 0.5}})


def test_holds_released_in_any_order_leave_nothing_in_flight():
    budget = Budget(limit=1.0, pricing=Pricing(0.1, 0.3), model=MODEL, spent=lambda: 0.0)
    amounts = [0.1, 0.2, 0.7 / 3, 1e-9]
    for amount in amounts:
        budget.reserve(amount)
    assert budget.in_flight and not budget.fits(0.5)
    for amount in reversed(amounts[1:]):
        budget.release(amount)
    assert budget.in_flight  # one hold is left
    budget.release(amounts[0])
    # float sums need not cancel exactly; the count of holds decides that none is in flight
    assert not budget.in_flight and budget.reserved == 0.0 and budget.fits(1.0)
