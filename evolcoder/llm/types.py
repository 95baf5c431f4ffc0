"""The chat interface every provider speaks: one request in, one result out.

A request's `key()` is the ledger key: a hash of everything that decides the answer (model,
messages, sampling parameters and the sample index), so a changed prompt template or
temperature is a new call, and the same call is never paid for twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion to make.

    `sample` tells apart n independent samples of the same prompt. `meta` is not part of the
    key; by convention it holds `stage`, `purpose` and the item id, which error messages quote.
    """

    messages: tuple[tuple[str, str], ...]
    model: str
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 2048
    sample: int = 0
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def key_fields(self) -> dict[str, Any]:
        """The fields the key hashes, as plain JSON values."""
        return {
            "model": self.model,
            "messages": [[role, content] for role, content in self.messages],
            "temperature": float(self.temperature),
            "top_p": float(self.top_p),
            "max_tokens": int(self.max_tokens),
            "sample": int(self.sample),
        }

    def record(self) -> dict[str, Any]:
        """`key_fields()` and `meta`, as the ledger stores a request."""
        return {**self.key_fields(), "meta": dict(self.meta)}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ChatRequest:
        """The request a `record()` was made from."""
        return cls(messages=tuple((role, content) for role, content in record["messages"]), model=record["model"],
                   temperature=record["temperature"], top_p=record["top_p"], max_tokens=record["max_tokens"],
                   sample=record["sample"], meta=record.get("meta", {}))

    def prompt_chars(self) -> int:
        """Characters in all messages: the basis of prompt-size estimates before a call is made."""
        return sum(len(content) for _, content in self.messages)

    def key(self) -> str:
        """sha256 hex of the canonical JSON of `key_fields()`."""
        canonical = json.dumps(self.key_fields(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def describe(self) -> str:
        """A short label for messages: stage, purpose and item id from `meta`, when present."""
        parts = [f"{name}={self.meta[name]}" for name in ("stage", "purpose", "item_id") if name in self.meta]
        return " ".join(parts) or "no meta"


@dataclass(frozen=True)
class ChatResult:
    """The answer to one request, or the error that remained after the retries (`error_kind`
    names its cause: `connection`, `timeout`, `http_<status>`, `batch_expired`, ...)."""

    key: str
    text: str | None
    finish_reason: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    error: str | None = None
    error_kind: str | None = None
    provider: str = ""
    cached: bool = False
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.error is None


class ChatProvider(Protocol):
    """Makes one attempt at one request (a batch provider, see `BatchProvider`, answers a list).

    Raises `evolcoder.llm.errors.RetryableError` (the client retries, honouring `retry_after`),
    `FatalError` (this call fails and is recorded) or `ProviderConfigError` (the run stops).
    A provider may also define `check_pending(requests)`, which the client calls with every
    request the ledger cannot answer before it sends any of them, and `async aclose()`, which
    it awaits at the end of each batch (on the batch's event loop).
    """

    name: str

    async def complete(self, request: ChatRequest) -> ChatResult: ...


class CallRun(Protocol):
    """What the client offers a batch provider while it answers one batch of requests."""

    async def record(self, request: ChatRequest, result: ChatResult) -> None:
        """Take a request's final result: an answer is stored in the ledger before this returns."""

    def reserve(self, requests: Sequence[ChatRequest]) -> tuple[int, float | None]:
        """How many of `requests` (a prefix) `runtime.llm.max_cost_usd` lets go out now, and the hold on
        the budget for them (None: nothing held); `release` the hold once their results are recorded."""

    def release(self, held: float | None) -> None: ...

    def status(self, text: str) -> None:
        """Show a short status (e.g. the state of the batches waited on) beside the progress bar."""


class BatchProvider(Protocol):
    """Answers a whole list of requests at once (the Batch API), retrying as `runtime.llm.max_retries`
    says.

    Every request it does not `record` a result for counts as not sent because of the budget.
    """

    name: str

    async def answer_all(self, requests: Sequence[ChatRequest], run: CallRun) -> None: ...
