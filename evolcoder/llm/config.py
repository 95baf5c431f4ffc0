"""The `llm` section of params.yaml: which provider, how fast, how hard to retry, what it costs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from evolcoder.config import check

# USD per 1,000 tokens (OpenAI's list prices for these models; edit for your contract).
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "gpt-3.5-turbo": {"prompt": 0.0005, "completion": 0.0015},
    "gpt-4": {"prompt": 0.03, "completion": 0.06},
}


@dataclass
class LLMConfig:
    """Provider settings. `api_key_env: null` sends no key (local servers that take none).

    The `RUNTIME` fields change how fast calls go, not their answers: params files set them
    under `runtime.llm` (and `runtime.generate.server`), which no stage hashes.
    """

    RUNTIME: ClassVar[tuple[str, ...]] = ("concurrency", "requests_per_minute", "tokens_per_minute", "max_retries",
                                          "backoff_base_s", "backoff_max_s", "timeout_s")

    provider: Literal["openai", "dry-run", "replay"] = "dry-run"
    model: str = "gpt-3.5-turbo"
    base_url: str | None = None
    api_key_env: str | None = "OPENAI_API_KEY"
    concurrency: int = 8
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    max_retries: int = 6
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    timeout_s: float = 120.0
    temperature: float = 1.0
    top_p: float = 0.95
    max_tokens: int = 2048
    prices: dict[str, dict[str, float]] = field(default_factory=lambda: {k: dict(v) for k, v in DEFAULT_PRICES.items()})

    def __post_init__(self) -> None:
        check(self.base_url is None or self.base_url.startswith(("http://", "https://")), "llm.base_url",
              f"must be an http:// or https:// URL (e.g. http://localhost:8000/v1) or null, got {self.base_url!r}")
        check(self.concurrency >= 1, "llm.concurrency", f"must be at least 1, got {self.concurrency}")
        for name in ("requests_per_minute", "tokens_per_minute"):
            value = getattr(self, name)
            check(value is None or value > 0, f"llm.{name}", f"must be positive or null, got {value}")
        check(self.max_retries >= 0, "llm.max_retries", f"must be 0 or more, got {self.max_retries}")
        check(0 <= self.backoff_base_s <= self.backoff_max_s, "llm.backoff_base_s",
              f"must be between 0 and llm.backoff_max_s ({self.backoff_max_s}), got {self.backoff_base_s}")
        check(self.timeout_s > 0, "llm.timeout_s", f"must be positive, got {self.timeout_s}")
        check(0 <= self.temperature <= 2, "llm.temperature", f"must be in [0, 2], got {self.temperature}")
        check(0 < self.top_p <= 1, "llm.top_p", f"must be in (0, 1], got {self.top_p}")
        check(self.max_tokens >= 1, "llm.max_tokens", f"must be at least 1, got {self.max_tokens}")
        check(not self.api_key_env or self.api_key_env.strip() == self.api_key_env, "llm.api_key_env",
              f"must be an environment variable name or null, got {self.api_key_env!r}")
        for model, price in self.prices.items():
            check(set(price) == {"prompt", "completion"}, f"llm.prices.{model}",
                  f"needs exactly the keys prompt and completion (USD per 1k tokens), got {sorted(price)}")
