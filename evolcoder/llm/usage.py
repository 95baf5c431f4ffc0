"""Token and cost totals over a run's results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from evolcoder.llm.types import ChatResult


def call_cost(prices: Mapping[str, Mapping[str, float]], model: str, prompt_tokens: int,
              completion_tokens: int) -> float:
    """USD for one call at the per-1k-token `prices` of `model`; 0 for a model not in the table."""
    price = prices.get(model)
    if price is None:
        return 0.0
    return (prompt_tokens * price["prompt"] + completion_tokens * price["completion"]) / 1000


@dataclass
class UsageTotals:
    """Sums over every result a client returned.

    `calls` were sent to the provider in this run, `cached` came from the ledger, `failed`
    ended with an error, `retries` counts extra attempts. Tokens and cost cover all results,
    ledger hits included, so a resumed run reports what the whole data set cost.
    """

    calls: int = 0
    cached: int = 0
    failed: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, result: ChatResult) -> None:
        if result.cached:
            self.cached += 1
        else:
            self.calls += 1
            self.retries += max(0, result.attempts - 1)
        self.failed += not result.ok
        self.prompt_tokens += result.prompt_tokens
        self.completion_tokens += result.completion_tokens
        self.cost_usd += result.cost_usd

    def as_dict(self) -> dict[str, int | float]:
        values = asdict(self)
        values["cost_usd"] = round(self.cost_usd, 6)
        return values
