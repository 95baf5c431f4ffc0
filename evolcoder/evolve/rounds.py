"""Evol-Instruct rounds: evolve every pool item, check it, answer it, check the answer.

Per round, all evolution calls go out as one batch, then (with `evolve.equality_check`) the
equality calls, then all answer calls, so `runtime.llm.concurrency` calls are in flight throughout (or,
with `llm.provider: openai-batch`, each is one Batch API job). An item eliminated, or whose
call failed after its retries, leaves its parent in the pool for the next round; every attempt
is recorded with why it was kept or not. After each round the failure policy
(`evolcoder.evolve.policy`) decides whether the next round may build on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from evolcoder.evolve import eliminate
from evolcoder.evolve.config import EvolveConfig
from evolcoder.evolve.methods import choose_method
from evolcoder.evolve.policy import EvolveFailed, assess, breaches, failure_report
from evolcoder.llm.prompts import equality_prompt, evolution_prompt, is_equal_verdict, question_text
from evolcoder.evolve.records import PoolItem, record_id
from evolcoder.llm import BudgetExceeded, ChatRequest, ChatResult, LLMClient, LLMConfig


@dataclass
class Attempt:
    """One pool item's evolution in one round, filled in call by call."""

    parent: PoolItem
    round: int
    method: str
    question: str
    instruction: str = ""
    output: str = ""
    eliminated: str | None = None
    error: str | None = None
    results: dict[str, ChatResult] = field(default_factory=dict)

    @property
    def alive(self) -> bool:
        return self.eliminated is None

    @property
    def sample(self) -> int:
        """How often this parent was evolved before: a parent that stays in the pool is tried
        again with a new sample index, so a prompt repeated in a later round is a new call
        rather than the ledger's old answer."""
        return self.round - self.parent.born - 1

    def fail(self, purpose: str, result: ChatResult) -> None:
        self.eliminated = eliminate.API_ERROR
        self.error = f"{purpose} call {result.key[:12]} failed: {result.error}"

    def record(self, model: str) -> dict[str, Any]:
        """The JSONL record of this attempt (see `evolcoder.evolve.records`)."""
        provider = next(iter(self.results.values())).provider
        return {
            "id": record_id(self.parent.id, self.round, self.method, self.instruction),
            "parent_id": self.parent.id,
            "root_id": self.parent.root_id,
            "round": self.round,
            "method": self.method,
            "instruction": self.instruction,
            "input": "",
            "output": self.output,
            "eliminated": self.eliminated,
            "error": self.error,
            "llm": {
                "provider": provider,
                "model": model,
                "keys": {purpose: r.key for purpose, r in self.results.items()},
            },
        }


@dataclass
class RoundResult:
    """A finished round: its records (pool order) and the pool for the next round.

    `breaches` lists the failure-policy thresholds it crossed, kept because of
    `evolve.on_failure: keep` (a partial round); empty for a round that passed.
    """

    round: int
    records: list[dict[str, Any]]
    next_pool: list[PoolItem]
    results: list[ChatResult]
    breaches: list[str] = field(default_factory=list)


def plan_round(config: EvolveConfig, pool: Sequence[PoolItem], k: int) -> list[Attempt]:
    """Round `k`'s attempts over `pool`: each item with its seeded method and question."""
    weights = config.method_weights()
    return [Attempt(item, k, choose_method(weights, config.seed, item.id, k),
                    question_text(config.methods, item.instruction, item.input)) for item in pool]


def purposes(config: EvolveConfig) -> tuple[str, ...]:
    """The calls each item may make in a round, in the order their batches go out."""
    return ("evolve", "equality", "answer") if config.equality_check else ("evolve", "answer")


class Evolver:
    """Runs rounds of one evolution configuration through one LLM client."""

    def __init__(self, config: EvolveConfig, llm: LLMConfig, client: LLMClient,
                 seed_answers: dict[str, str]) -> None:
        self.config = config
        self.llm = llm
        self.client = client
        self.seed_answers = seed_answers  # root id -> seed answer, for the dry-run provider

    def run(self, pool: list[PoolItem]) -> list[RoundResult]:
        """All `evolve.rounds` rounds, each evolving the pool the previous one left.

        One event loop serves every batch: an HTTP provider's connections belong to it.
        """
        return asyncio.run(self._run(pool))

    async def _run(self, pool: list[PoolItem]) -> list[RoundResult]:
        rounds = []
        for k in range(1, self.config.rounds + 1):
            rounds.append(self._judged(await self.round(pool, k)))
            pool = rounds[-1].next_pool
        return rounds

    def _judged(self, result: RoundResult) -> RoundResult:
        """The round as the failure policy has it: raises EvolveFailed (on_failure: fail), or
        marks the breaches of a round kept on purpose (on_failure: keep)."""
        health = assess(result.round, result.records, result.results)
        found = breaches(health, self.config)
        if found and self.config.on_failure == "fail":
            raise EvolveFailed(failure_report(health, found, self.llm, self.client.ledger))
        result.breaches = found
        return result

    async def round(self, pool: Sequence[PoolItem], k: int) -> RoundResult:
        """Round `k` over `pool`."""
        attempts = plan_round(self.config, pool, k)
        await self._evolve(attempts)
        if self.config.equality_check:
            await self._equality(attempts)
        await self._answer(attempts)
        next_pool = [
            a.parent.child(k, a.method, a.instruction, a.output) if a.alive else a.parent
            for a in attempts
        ]
        results = [r for a in attempts for r in a.results.values()]
        return RoundResult(k, [a.record(self.llm.model) for a in attempts], next_pool, results)

    async def _evolve(self, attempts: list[Attempt]) -> None:
        await self._batch("evolve", attempts,
                          lambda a: evolution_prompt(self.config.methods, a.method, a.question))
        for a in attempts:
            if a.alive:
                a.instruction = (a.results["evolve"].text or "").strip()
                a.eliminated = eliminate.instruction_reason(a.question, a.instruction)

    async def _equality(self, attempts: list[Attempt]) -> None:
        await self._batch("equality", attempts, lambda a: equality_prompt(a.question, a.instruction))
        for a in attempts:
            if a.alive and is_equal_verdict(a.results["equality"].text or ""):
                a.eliminated = eliminate.NO_GAIN

    async def _answer(self, attempts: list[Attempt]) -> None:
        await self._batch("answer", attempts, lambda a: a.instruction)
        for a in attempts:
            if a.alive:
                a.output = (a.results["answer"].text or "").strip()
                a.eliminated = eliminate.answer_reason(a.output)

    async def _batch(self, purpose: str, attempts: list[Attempt],
                     prompt_of: Callable[[Attempt], str]) -> None:
        """One batch of calls for the live attempts; a failed call marks its attempt."""
        live = [a for a in attempts if a.alive]
        requests = [self._request(purpose, a, prompt_of(a)) for a in live]
        k = attempts[0].round if attempts else 0
        try:
            results = await self.client.arun(requests, desc=f"round {k}/{self.config.rounds} {purpose}")
        except BudgetExceeded as e:
            raise BudgetExceeded(f"{e}\n{self._calls_after(purpose, k, len(attempts))}", e.unsent) from None
        for a, result in zip(live, results):
            a.results[purpose] = result
            if not result.ok:
                a.fail(purpose, result)

    def _calls_after(self, purpose: str, k: int, pool_size: int) -> str:
        """How many calls the run has left after the batch of `purpose` in round `k` (at most)."""
        order = purposes(self.config)
        later = pool_size * (len(order) - order.index(purpose) - 1 + len(order) * (self.config.rounds - k))
        return (f"After this batch, the run has up to {later} more call(s) (the rest of round {k} and the rounds "
                f"after it); `evolcoder evolve --estimate` prices them.")

    def _request(self, purpose: str, attempt: Attempt, prompt: str) -> ChatRequest:
        messages = (("user", prompt),)
        if self.config.system_prompt is not None:
            messages = (("system", self.config.system_prompt), *messages)
        meta: dict[str, Any] = {"stage": "evolve", "purpose": purpose,
                                "item_id": attempt.parent.id, "round": attempt.round}
        if purpose == "answer":
            meta["reference_answer"] = self.seed_answers[attempt.parent.root_id]
        return ChatRequest(messages=messages, model=self.llm.model, temperature=self.llm.temperature,
                           top_p=self.llm.top_p, max_tokens=self.llm.max_tokens, sample=attempt.sample,
                           meta=meta)
