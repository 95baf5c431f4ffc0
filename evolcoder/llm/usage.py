"""What calls cost: the price of the configured model, and token and cost totals over a run."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from evolcoder.llm.config import LLMConfig
from evolcoder.llm.types import ChatResult


@dataclass(frozen=True)
class Pricing:
    """USD per 1,000 prompt and completion tokens of `llm.model`, at the rate its provider is
    charged: `llm.prices`' batch entries for `openai-batch`, its list prices otherwise; 0 for a
    model the table does not list."""

    prompt: float
    completion: float

    @classmethod
    def of(cls, config: LLMConfig) -> Pricing:
        price = config.prices.get(config.model)
        if price is None:
            return cls(0.0, 0.0)
        if config.provider == "openai-batch":
            return cls(price["batch_prompt"], price["batch_completion"])
        return cls(price["prompt"], price["completion"])

    def cost(self, prompt_tokens: float, completion_tokens: float) -> float:
        return (prompt_tokens * self.prompt + completion_tokens * self.completion) / 1000


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
