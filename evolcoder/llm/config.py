"""The `llm` section of params.yaml (which provider and model, how to sample, what it costs) and its
runtime knobs (`runtime.llm`: how fast, how hard to retry, how much may be spent); the API key it names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from evolcoder.config import check
from evolcoder.llm.errors import ProviderConfigError

# USD per 1,000 tokens (OpenAI's list prices for these models; edit for your contract). The
# Batch API charges half the list price: `batch_prompt` and `batch_completion`.
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "gpt-3.5-turbo": {"prompt": 0.0005, "completion": 0.0015, "batch_prompt": 0.00025, "batch_completion": 0.00075},
    "gpt-4": {"prompt": 0.03, "completion": 0.06, "batch_prompt": 0.015, "batch_completion": 0.03},
}
OPENAI_URL = "https://api.openai.com/v1"
NO_KEY = "no-key"  # sent when llm.api_key_env is null; servers that take no key ignore it
PRICE_KEYS = {"prompt", "completion"}
BATCH_PRICE_KEYS = {"batch_prompt", "batch_completion"}
# The Batch API's limits per input file (OpenAI's documentation).
BATCH_MAX_REQUESTS = 50_000
BATCH_MAX_BYTES = 200_000_000


@dataclass
class LLMConfig:
    """Provider settings. `api_key_env: null` sends no key (local servers that take none)."""

    provider: Literal["openai", "openai-batch", "dry-run", "replay"] = "dry-run"
    model: str = "gpt-3.5-turbo"
    base_url: str | None = None
    api_key_env: str | None = "OPENAI_API_KEY"
    temperature: float = 1.0
    top_p: float = 0.95
    max_tokens: int = 2048
    prices: dict[str, dict[str, float]] = field(default_factory=lambda: {k: dict(v) for k, v in DEFAULT_PRICES.items()})

    def __post_init__(self) -> None:
        check(self.base_url is None or self.base_url.startswith(("http://", "https://")), "llm.base_url",
              f"must be an http:// or https:// URL (e.g. http://localhost:8000/v1) or null, got {self.base_url!r}")
        check(0 <= self.temperature <= 2, "llm.temperature", f"must be in [0, 2], got {self.temperature}")
        check(0 < self.top_p <= 1, "llm.top_p", f"must be in (0, 1], got {self.top_p}")
        check(self.max_tokens >= 1, "llm.max_tokens", f"must be at least 1, got {self.max_tokens}")
        check(not self.api_key_env or self.api_key_env.strip() == self.api_key_env, "llm.api_key_env",
              f"must be an environment variable name or null, got {self.api_key_env!r}")
        self._check_prices()

    @property
    def endpoint(self) -> str:
        """The base URL calls go to: `base_url`, or OpenAI's API when it is null (explicit, so that
        an OPENAI_BASE_URL in the environment cannot redirect the calls)."""
        return self.base_url or OPENAI_URL

    def _check_prices(self) -> None:
        for model, price in self.prices.items():
            check(set(price) in (PRICE_KEYS, PRICE_KEYS | BATCH_PRICE_KEYS), f"llm.prices.{model}",
                  "needs the keys prompt and completion (USD per 1k tokens), and optionally both batch_prompt "
                  f"and batch_completion (the Batch API's price), got {sorted(price)}")
        if self.provider == "openai-batch" and self.model in self.prices:
            check(BATCH_PRICE_KEYS <= set(self.prices[self.model]), f"llm.prices.{self.model}",
                  "llm.provider is openai-batch: add batch_prompt and batch_completion (the Batch API's price "
                  "per 1k tokens; OpenAI's is half the list price)")


@dataclass(frozen=True)
class LLMRuntime:
    """How fast calls go, how hard they are retried and how much they may cost, not their answers
    (params: `runtime.llm`, and `runtime.generate.server` for a generation server).

    `max_cost_usd` is the most the calls may cost in all, answers from the ledger included; the
    `batch_*` fields tune `provider: openai-batch` (poll interval, doubling up to its maximum;
    requests and bytes per input file).
    """

    concurrency: int = 8
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    max_retries: int = 6
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    timeout_s: float = 120.0
    max_cost_usd: float | None = None
    batch_poll_s: float = 30.0
    batch_poll_max_s: float = 600.0
    batch_max_requests: int = BATCH_MAX_REQUESTS
    batch_max_bytes: int = BATCH_MAX_BYTES

    SECTION: ClassVar[str] = "runtime.llm"  # where params files set these knobs, for the messages

    def __post_init__(self) -> None:
        check(self.concurrency >= 1, f"{self.SECTION}.concurrency", f"must be at least 1, got {self.concurrency}")
        for name in ("requests_per_minute", "tokens_per_minute"):
            value = getattr(self, name)
            check(value is None or value > 0, f"{self.SECTION}.{name}", f"must be positive or null, got {value}")
        check(self.max_retries >= 0, f"{self.SECTION}.max_retries", f"must be 0 or more, got {self.max_retries}")
        check(0 <= self.backoff_base_s <= self.backoff_max_s, f"{self.SECTION}.backoff_base_s",
              f"must be between 0 and {self.SECTION}.backoff_max_s ({self.backoff_max_s}), got {self.backoff_base_s}")
        check(self.timeout_s > 0, f"{self.SECTION}.timeout_s", f"must be positive, got {self.timeout_s}")
        check(self.max_cost_usd is None or self.max_cost_usd > 0, f"{self.SECTION}.max_cost_usd",
              f"must be positive or null (no budget), got {self.max_cost_usd}")
        check(0 < self.batch_poll_s <= self.batch_poll_max_s, f"{self.SECTION}.batch_poll_s",
              f"must be positive and at most {self.SECTION}.batch_poll_max_s ({self.batch_poll_max_s}), "
              f"got {self.batch_poll_s}")
        check(1 <= self.batch_max_requests <= BATCH_MAX_REQUESTS, f"{self.SECTION}.batch_max_requests",
              f"must be between 1 and {BATCH_MAX_REQUESTS:,} (the Batch API's limit), got {self.batch_max_requests}")
        check(1 <= self.batch_max_bytes <= BATCH_MAX_BYTES, f"{self.SECTION}.batch_max_bytes",
              f"must be between 1 and {BATCH_MAX_BYTES:,} (the Batch API's limit), got {self.batch_max_bytes}")


def resolve_api_key(config: LLMConfig, environ: Mapping[str, str]) -> str:
    """The key from the variable `llm.api_key_env` names; a clear error if it is unset."""
    if config.api_key_env is None:
        return NO_KEY
    key = environ.get(config.api_key_env, "").strip()
    if not key:
        raise ProviderConfigError(
            f"llm.provider is {config.provider} but the environment variable {config.api_key_env} "
            f"(llm.api_key_env) is not set, so there is no API key for {config.base_url or 'the OpenAI API'}. "
            "Export it, point llm.api_key_env at the variable that holds your key, or set llm.api_key_env: null "
            "for a local server that takes no key (vLLM, llama.cpp, Ollama, TGI, transformers serve)."
        )
    return key
