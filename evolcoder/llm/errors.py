"""What can go wrong with an LLM call, by what the client should do about it.

A call's error has a `kind` (`connection`, `timeout`, `http_500`, `malformed_answer`,
`batch_expired`, ...): failed results carry it as `error_kind`, so a failure report can count
failures by cause without parsing messages.
"""

from __future__ import annotations

from evolcoder.errors import EvolcoderError


class LLMError(EvolcoderError):
    """Base class of the LLM layer's errors."""


class RetryableError(LLMError):
    """This attempt failed, another may succeed (429, 5xx, time-out, malformed answer)."""

    def __init__(self, message: str, kind: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after


class FatalError(LLMError):
    """This call cannot succeed as sent (e.g. HTTP 400); it is recorded as failed."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class ProviderConfigError(LLMError):
    """The provider is set up wrongly (no key, bad key, unknown model): no call can succeed."""


class MissingCallsError(LLMError):
    """`llm.provider: replay` was asked for calls the ledger does not hold."""


class BudgetExceeded(LLMError):
    """`runtime.llm.max_cost_usd` would be exceeded: the calls that fit were made, the rest were not sent.

    `unsent` counts the calls of the batch that were not sent; the message says what was spent.
    """

    def __init__(self, message: str, unsent: int) -> None:
        super().__init__(message)
        self.unsent = unsent


class BatchAPIError(LLMError):
    """The Batch API could not be reached or refused a file or batch; the batch ids already
    created are in the ledger, so a rerun resumes them."""
