"""`runtime.llm.max_cost_usd`: calls go out only while what they can cost fits the budget.

What a call costs is known when its answer arrives; until then its worst case is held back:
its prompt at one token per `PROMPT_CHARS_PER_TOKEN` characters (fewer characters per token
than OpenAI's tokenizers give English or code; prompts mostly in scripts such as Chinese, at
more than one token a character, can exceed it) and `max_tokens` of completion. What is spent
counts every answer of the run, those from the ledger included, so the budget bounds what the
data set costs in all, and a rerun with a higher budget continues where the last one stopped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from evolcoder.config import check
from evolcoder.llm.config import LLMConfig, LLMRuntime
from evolcoder.llm.errors import BudgetExceeded
from evolcoder.llm.types import ChatRequest
from evolcoder.llm.usage import Pricing

PROMPT_CHARS_PER_TOKEN = 2
_ROUNDING = 1e-12  # sums of float costs must not refuse a call that fits exactly


class Budget:
    """The spending limit of one client, over every batch it runs; `spent` reads the client's
    running cost total. `reserved` is the worst case held back for the calls in flight, `holds`
    how many holds make it up (counted, so that float residue never looks like a call in flight)."""

    def __init__(self, limit: float, pricing: Pricing, model: str, spent: Callable[[], float]) -> None:
        self.limit = limit
        self.pricing = pricing
        self.model = model
        self._spent = spent
        self.reserved = 0.0
        self.holds = 0

    @classmethod
    def of(cls, config: LLMConfig, runtime: LLMRuntime, spent: Callable[[], float]) -> Budget | None:
        """The budget `runtime.llm.max_cost_usd` sets, or None when it is null."""
        if runtime.max_cost_usd is None:
            return None
        check(config.model in config.prices, "runtime.llm.max_cost_usd",
              f"needs the price of model {config.model} in llm.prices to count what the calls cost")
        return cls(runtime.max_cost_usd, Pricing.of(config), config.model, spent)

    @property
    def spent(self) -> float:
        return self._spent()

    def worst_case(self, request: ChatRequest) -> float:
        """The most `request` can cost."""
        return self.pricing.cost(self._prompt_bound(request), request.max_tokens)

    def fits(self, amount: float) -> bool:
        return self.spent + self.reserved + amount <= self.limit + _ROUNDING

    def reserve(self, amount: float) -> None:
        """Hold `amount` back until `release(amount)`."""
        self.holds += 1
        self.reserved += amount

    def release(self, amount: float) -> None:
        self.holds -= 1
        self.reserved = self.reserved - amount if self.holds else 0.0

    @property
    def in_flight(self) -> bool:
        """Whether calls hold budget back, so that waiting may free some."""
        return self.holds > 0

    def refuse_unaffordable(self, requests: Sequence[ChatRequest], desc: str) -> None:
        """Raise BudgetExceeded, before anything is sent, when not even the cheapest call fits;
        with nothing spent yet, the message says the smallest budget that would do."""
        cheapest = min(requests, key=self.worst_case)
        if self.fits(self.worst_case(cheapest)):
            return
        if self.spent == 0:
            raise BudgetExceeded(
                f"runtime.llm.max_cost_usd (${self.limit:g}) is less than one call can cost: the cheapest call of {desc} "
                f"costs up to ${self.worst_case(cheapest):.6f} ({self._prompt_bound(cheapest)} prompt tokens at "
                f"most and max_tokens {cheapest.max_tokens}, at the prices of {self.model} in llm.prices). "
                "Set runtime.llm.max_cost_usd to at least that; nothing was sent.", unsent=len(requests))
        raise self.exceeded(len(requests), desc)

    def exceeded(self, unsent: int, desc: str) -> BudgetExceeded:
        return BudgetExceeded(
            f"stopped before exceeding runtime.llm.max_cost_usd=${self.limit:g}: spent ${self.spent:.6f} (answers from the "
            f"ledger included); {unsent} call(s) of {desc} were not sent. Raise runtime.llm.max_cost_usd and rerun: "
            "the ledger keeps every answered call, so only the rest are sent.", unsent=unsent)

    @staticmethod
    def _prompt_bound(request: ChatRequest) -> int:
        return math.ceil(request.prompt_chars() / PROMPT_CHARS_PER_TOKEN)
