"""The LLM client: ledger first, then the provider, with concurrency, rate limits and retries.

Every request gets a result in the order given: an answer from the ledger (no call made), a
fresh answer (stored in the ledger the moment it arrives), or the error that remained after
`llm.max_retries` retries. Nothing is dropped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Iterable, Sequence

from tqdm import tqdm

from evolcoder.llm.config import LLMConfig
from evolcoder.llm.errors import FatalError, ProviderConfigError, RetryableError
from evolcoder.llm.ledger import Ledger
from evolcoder.llm.ratelimit import TokenBucket
from evolcoder.llm.types import ChatProvider, ChatRequest, ChatResult
from evolcoder.llm.usage import UsageTotals

CHARS_PER_TOKEN = 4  # rough prompt-size estimate for the tokens-per-minute budget
DRY_RUN = "dry-run"


def make_provider(config: LLMConfig, ledger: Ledger) -> ChatProvider:
    """The provider `config.provider` names (openai or replay); each is imported only when chosen.

    `dry-run` has no provider here: its rule-based answers belong to the layer that writes the
    prompts (`evolcoder.evol.dry_run`), which hands it to `LLMClient` as `provider`.
    """
    if config.provider == "openai":
        from evolcoder.llm.openai_provider import OpenAIProvider

        return OpenAIProvider(config)
    if config.provider == "replay":
        from evolcoder.llm.replay import ReplayProvider

        return ReplayProvider(ledger)
    raise ProviderConfigError(f"llm.provider {config.provider!r} needs its provider passed to LLMClient "
                              "(the evolve stage supplies dry-run); this client builds openai and replay")


def estimated_tokens(request: ChatRequest) -> int:
    """Prompt size estimate plus the completion budget, as servers count against a TPM limit."""
    prompt_chars = sum(len(content) for _, content in request.messages)
    return prompt_chars // CHARS_PER_TOKEN + request.max_tokens


class _Limits:
    """The per-run gates a call passes: rate-limit buckets, then a concurrency slot."""

    def __init__(self, config: LLMConfig) -> None:
        self.slots = asyncio.Semaphore(config.concurrency)
        self.requests = TokenBucket(config.requests_per_minute) if config.requests_per_minute else None
        self.tokens = TokenBucket(config.tokens_per_minute) if config.tokens_per_minute else None

    async def admit(self, request: ChatRequest) -> None:
        if self.requests:
            await self.requests.acquire(1)
        if self.tokens:
            await self.tokens.acquire(estimated_tokens(request))


class _GroupCommit:
    """Writes answers to the ledger from a worker thread, all that arrived during the previous
    commit in one transaction: one fsync per batch, and the event loop never waits on the disk.
    `put` returns once its answer is durable."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._queue: list[tuple[ChatRequest, ChatResult, asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None

    async def put(self, request: ChatRequest, result: ChatResult) -> None:
        done = asyncio.get_running_loop().create_future()
        self._queue.append((request, result, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush())
        await done

    async def close(self) -> None:
        """Wait for the commit in progress, if any."""
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                await asyncio.to_thread(self.ledger.put_many, [(request, result) for request, result, _ in batch])
            except Exception as e:
                _settle(batch, e)
            else:
                _settle(batch, None)


def _settle(batch: list[tuple[ChatRequest, ChatResult, asyncio.Future]], error: Exception | None) -> None:
    for _, _, done in batch:
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)


async def _close_batch(provider: ChatProvider) -> None:
    """Let a provider close what it opened for this batch (its HTTP client is bound to this loop)."""
    aclose = getattr(provider, "aclose", None)
    if aclose is not None:
        await aclose()


class LLMClient:
    """Answers batches of chat requests through the ledger and one provider.

    `provider` None builds the one `config.provider` names (a missing API key fails here,
    before any work). `usage` accumulates over every batch this client runs.
    """

    def __init__(self, config: LLMConfig, ledger: Ledger, provider: ChatProvider | None = None,
                 jitter_seed: int | None = None) -> None:
        self.config = config
        self.ledger = ledger
        self.provider = provider if provider is not None else make_provider(config, ledger)
        self.usage = UsageTotals()
        self._jitter = random.Random(jitter_seed)

    def run(self, requests: Sequence[ChatRequest], desc: str = "llm calls") -> list[ChatResult]:
        """Answer `requests` (blocking); results in the same order."""
        return asyncio.run(self.arun(requests, desc))

    async def arun(self, requests: Sequence[ChatRequest], desc: str = "llm calls") -> list[ChatResult]:
        """Answer `requests` on the running event loop; results in the same order."""
        keys = [request.key() for request in requests]
        results: dict[str, ChatResult] = {}
        pending: dict[str, ChatRequest] = {}
        for key, request in zip(keys, requests):
            if key in results or key in pending:
                continue
            hit = self.ledger.get(key)
            if hit is not None:
                results[key] = hit
            else:
                pending[key] = request
        self._refuse_dry_run_answers(results.values())
        check_pending = getattr(self.provider, "check_pending", None)
        if pending and check_pending is not None:
            check_pending(list(pending.values()))
        with tqdm(total=len(results) + len(pending), initial=len(results), desc=desc, unit="call") as bar:
            try:
                await self._send_all(list(pending.values()), results, bar)
            finally:
                await _close_batch(self.provider)
        for result in results.values():
            self.usage.add(result)
        return [results[key] for key in keys]

    def _refuse_dry_run_answers(self, hits: Iterable[ChatResult]) -> None:
        """With `llm.provider: openai`, dry-run answers in the ledger must never stand in for the
        model's: a ledger made by the default profile shares its keys with a real run of the same
        model name."""
        if self.config.provider != "openai":
            return
        n = sum(hit.provider == DRY_RUN for hit in hits)
        if n:
            raise ProviderConfigError(
                f"the ledger {self.ledger.path} answers {n} of these calls with dry-run answers, and "
                "llm.provider is openai. Start from an empty ledger (remove "
                f"{self.ledger.folder}) so that the model answers them."
            )

    async def _send_all(self, requests: list[ChatRequest], results: dict[str, ChatResult], bar: tqdm) -> None:
        limits = _Limits(self.config)
        writer = _GroupCommit(self.ledger)
        counts = {"failed": 0, "retried": 0}

        async def one(request: ChatRequest) -> None:
            result = await self._call(request, limits)
            if result.ok:
                await writer.put(request, result)
            else:
                counts["failed"] += 1
            if result.attempts > 1:
                counts["retried"] += 1
            results[result.key] = result
            if not result.ok or result.attempts > 1:
                bar.set_postfix(counts, refresh=False)
            bar.update(1)

        tasks = [asyncio.ensure_future(one(request)) for request in requests]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            await writer.close()

    async def _call(self, request: ChatRequest, limits: _Limits) -> ChatResult:
        """One call with retries; the result says how many attempts it took."""
        attempt = 0
        while True:
            attempt += 1
            try:
                result = await self._attempt(request, limits)
                return dataclasses.replace(result, attempts=attempt, cached=False)
            except RetryableError as e:
                if attempt > self.config.max_retries:
                    return self._failed(request, f"{e} (gave up after {attempt} attempts)", attempt)
                await asyncio.sleep(self.retry_delay(attempt, e.retry_after))
            except FatalError as e:
                return self._failed(request, str(e), attempt)

    async def _attempt(self, request: ChatRequest, limits: _Limits) -> ChatResult:
        await limits.admit(request)
        async with limits.slots:
            try:
                async with asyncio.timeout(self.config.timeout_s):
                    return await self.provider.complete(request)
            except TimeoutError as e:
                raise RetryableError(
                    f"no answer within llm.timeout_s={self.config.timeout_s:g}s ({request.describe()})"
                ) from e

    def retry_delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before retry number `attempt`: the server's Retry-After (capped at
        llm.backoff_max_s) when given, else exponential backoff with jitter."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.config.backoff_max_s)
        backoff = min(self.config.backoff_max_s, self.config.backoff_base_s * 2 ** (attempt - 1))
        return backoff / 2 + self._jitter.uniform(0, backoff / 2)

    def _failed(self, request: ChatRequest, error: str, attempts: int) -> ChatResult:
        return ChatResult(key=request.key(), text=None, finish_reason=None, error=error,
                          provider=self.provider.name, attempts=attempts)
