"""What can go wrong with an LLM call, by what the client should do about it."""

from __future__ import annotations

from evolcoder.errors import EvolcoderError


class LLMError(EvolcoderError):
    """Base class of the LLM layer's errors."""


class RetryableError(LLMError):
    """This attempt failed, another may succeed (429, 5xx, time-out, malformed answer)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FatalError(LLMError):
    """This call cannot succeed as sent (e.g. HTTP 400); it is recorded as failed."""


class ProviderConfigError(LLMError):
    """The provider is set up wrongly (no key, bad key, unknown model): no call can succeed."""


class MissingCallsError(LLMError):
    """`llm.provider: replay` was asked for calls the ledger does not hold."""
