"""Evol-Instruct rounds: evolve every pool item, check it, answer it, check the answer.

Per round, all evolution calls go out as one batch, then (with `evolve.equality_check`) the
equality calls, then all answer calls, so `llm.concurrency` calls are in flight throughout.
An item eliminated, or whose call failed after its retries, leaves its parent in the pool for
the next round; every attempt is recorded with why it was kept or not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from evolcoder.evol import eliminate
from evolcoder.evol.config import EvolveConfig
from evolcoder.evol.methods import choose_method
from evolcoder.evol.prompts import equality_prompt, evolution_prompt, is_equal_verdict, question_text
from evolcoder.evol.records import PoolItem, record_id
from evolcoder.llm import ChatRequest, ChatResult, LLMClient, LLMConfig


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
        """The JSONL record of this attempt (see `evolcoder.evol.records`)."""
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
    """A finished round: its records (pool order) and the pool for the next round."""

    round: int
    records: list[dict[str, Any]]
    next_pool: list[PoolItem]
    results: list[ChatResult]


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
            rounds.append(await self.round(pool, k))
            pool = rounds[-1].next_pool
        return rounds

    async def round(self, pool: Sequence[PoolItem], k: int) -> RoundResult:
        """Round `k` over `pool`."""
        weights = self.config.method_weights()
        attempts = []
        for item in pool:
            method = choose_method(weights, self.config.seed, item.id, k)
            question = question_text(self.config.methods, item.instruction, item.input)
            attempts.append(Attempt(item, k, method, question))
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
        results = await self.client.arun(requests, desc=f"round {k}/{self.config.rounds} {purpose}")
        for a, result in zip(live, results):
            a.results[purpose] = result
            if not result.ok:
                a.fail(purpose, result)

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
