"""The chat interface every provider speaks: one request in, one result out.

A request's `key()` is the ledger key: a hash of everything that decides the answer (model,
messages, sampling parameters and the sample index), so a changed prompt template or
temperature is a new call, and the same call is never paid for twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
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
    """The answer to one request, or the error that remained after the retries."""

    key: str
    text: str | None
    finish_reason: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    error: str | None = None
    provider: str = ""
    cached: bool = False
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.error is None


class ChatProvider(Protocol):
    """Makes one attempt at one request.

    Raises `evolcoder.llm.errors.RetryableError` (the client retries, honouring `retry_after`),
    `FatalError` (this call fails and is recorded) or `ProviderConfigError` (the run stops).
    A provider may also define `check_pending(requests)`, which the client calls with every
    request the ledger cannot answer before it sends any of them, and `async aclose()`, which
    it awaits at the end of each batch (on the batch's event loop).
    """

    name: str

    async def complete(self, request: ChatRequest) -> ChatResult: ...
