"""The LLM client: ledger first, then the provider, with concurrency, rate limits, retries and
the budget.

Every request gets a result in the order given: an answer from the ledger (no call made), a
fresh answer (stored in the ledger the moment it arrives), or the error that remained after
`runtime.llm.max_retries` retries. Nothing is dropped: when `runtime.llm.max_cost_usd` stops the batch, the
calls in flight finish and are stored, and `BudgetExceeded` says how many were not sent.
A batch provider (`openai-batch`) gets the whole list instead of one call at a time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Iterable, Sequence

from tqdm import tqdm

from evolcoder.llm.budget import Budget
from evolcoder.llm.config import LLMConfig, LLMRuntime
from evolcoder.llm.errors import FatalError, LLMError, ProviderConfigError, RetryableError
from evolcoder.llm.ledger import Ledger
from evolcoder.llm.ratelimit import TokenBucket, backoff_delay
from evolcoder.llm.types import BatchProvider, ChatProvider, ChatRequest, ChatResult
from evolcoder.llm.usage import UsageTotals

CHARS_PER_TOKEN = 4  # rough prompt-size estimate for the tokens-per-minute budget
DRY_RUN = "dry-run"
MODEL_PROVIDERS = ("openai", "openai-batch")  # whose answers come from the model itself


def make_provider(config: LLMConfig, runtime: LLMRuntime, ledger: Ledger) -> ChatProvider | BatchProvider:
    """The provider `config.provider` names (openai, openai-batch or replay); each is imported
    only when chosen.

    `dry-run` has no provider here: its rule-based answers belong to the layer that writes the
    prompts (`evolcoder.llm.dry_run`), which hands it to `LLMClient` as `provider`.
    """
    if config.provider == "openai":
        from evolcoder.llm.openai_provider import OpenAIProvider

        return OpenAIProvider(config, runtime)
    if config.provider == "openai-batch":
        from evolcoder.llm.batch_provider import OpenAIBatchProvider

        return OpenAIBatchProvider(config, runtime, ledger)
    if config.provider == "replay":
        from evolcoder.llm.replay import ReplayProvider

        return ReplayProvider(ledger)
    raise ProviderConfigError(f"llm.provider {config.provider!r} needs its provider passed to LLMClient "
                              "(the evolve stage supplies dry-run); this client builds openai, openai-batch and replay")


def estimated_tokens(request: ChatRequest) -> int:
    """Prompt size estimate plus the completion budget, as servers count against a TPM limit."""
    return request.prompt_chars() // CHARS_PER_TOKEN + request.max_tokens


class _Limits:
    """The per-run gates a call passes: rate-limit buckets, then a concurrency slot."""

    def __init__(self, runtime: LLMRuntime) -> None:
        self.slots = asyncio.Semaphore(runtime.concurrency)
        self.requests = TokenBucket(runtime.requests_per_minute) if runtime.requests_per_minute else None
        self.tokens = TokenBucket(runtime.tokens_per_minute) if runtime.tokens_per_minute else None

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


class _NotSent(Exception):
    """The budget did not let this call go out."""


class _Run:
    """One batch's state: its results, the ledger writer, the progress bar and the budget gate.

    It is the `CallRun` a batch provider records its results through.
    """

    def __init__(self, client: LLMClient, results: dict[str, ChatResult], bar: tqdm) -> None:
        self.results = results
        self.usage = client.usage
        self.budget = client.budget
        self.writer = _GroupCommit(client.ledger)
        self.bar = bar
        self.counts = {"failed": 0, "retried": 0}
        self._status = ""
        self._settled = asyncio.Condition()
        self._stopped = False  # a call did not fit the budget with nothing in flight: no more go out

    def count(self, result: ChatResult) -> None:
        """Take a final result into the totals (its cost counts against the budget from now on)."""
        self.usage.add(result)
        self.counts["failed"] += not result.ok
        self.counts["retried"] += result.attempts > 1
        self.results[result.key] = result
        self._show()
        self.bar.update(1)

    async def store(self, request: ChatRequest, result: ChatResult) -> None:
        if result.ok:
            await self.writer.put(request, result)

    async def record(self, request: ChatRequest, result: ChatResult) -> None:
        self.count(result)
        await self.store(request, result)

    async def admit_cost(self, request: ChatRequest) -> float | None:
        """Hold back `request`'s worst-case cost, waiting while calls in flight may free some; the
        hold (None without a budget). Raises _NotSent when it cannot fit, and from then on for
        every call of this batch."""
        if self.budget is None:
            return None
        amount = self.budget.worst_case(request)
        async with self._settled:
            while not self._stopped and not self.budget.fits(amount):
                if not self.budget.in_flight:
                    self._stopped = True
                else:
                    await self._settled.wait()
            if self._stopped:
                raise _NotSent
            self.budget.reserve(amount)
            return amount

    async def settle(self, held: float | None) -> None:
        """Release a hold once the call's real cost is counted (or it failed, costing nothing)."""
        if held is None:
            return
        async with self._settled:
            self.budget.release(held)
            self._settled.notify_all()

    def reserve(self, requests: Sequence[ChatRequest]) -> tuple[int, float | None]:
        if self.budget is None:
            return len(requests), None
        n, total = 0, 0.0
        for request in requests:
            amount = self.budget.worst_case(request)
            if not self.budget.fits(total + amount):
                break
            n, total = n + 1, total + amount
        if n == 0:
            return 0, None
        self.budget.reserve(total)
        return n, total

    def release(self, held: float | None) -> None:
        if held is not None:
            self.budget.release(held)

    def status(self, text: str) -> None:
        self._status = text
        self._show()
        self.bar.refresh()

    def _show(self) -> None:
        postfix: dict[str, object] = {**self.counts, "cost": f"${self.usage.cost_usd:.4f}"}
        if self._status:
            postfix["batch"] = self._status
        self.bar.set_postfix(postfix, refresh=False)


class LLMClient:
    """Answers batches of chat requests through the ledger and one provider.

    `provider` None builds the one `config.provider` names (a missing API key fails here,
    before any work). `usage` accumulates over every batch this client runs, and so does the
    budget (`runtime.llm.max_cost_usd`), ledger answers included.
    """

    def __init__(self, config: LLMConfig, runtime: LLMRuntime, ledger: Ledger,
                 provider: ChatProvider | BatchProvider | None = None, jitter_seed: int | None = None) -> None:
        self.config = config
        self.runtime = runtime
        self.ledger = ledger
        self.provider = provider if provider is not None else make_provider(config, runtime, ledger)
        self.usage = UsageTotals()
        self.budget = Budget.of(config, runtime, spent=lambda: self.usage.cost_usd)
        self._jitter = random.Random(jitter_seed)

    def run(self, requests: Sequence[ChatRequest], desc: str = "llm calls") -> list[ChatResult]:
        """Answer `requests` (blocking); results in the same order."""
        return asyncio.run(self.arun(requests, desc))

    async def arun(self, requests: Sequence[ChatRequest], desc: str = "llm calls") -> list[ChatResult]:
        """Answer `requests` on the running event loop; results in the same order.

        Raises `BudgetExceeded` after storing every answer that came, when the budget left calls unsent.
        """
        if not requests:
            return []
        keys = [request.key() for request in requests]
        results, pending = self._from_ledger(requests, keys)
        check_pending = getattr(self.provider, "check_pending", None)
        if pending and check_pending is not None:
            check_pending(list(pending.values()))
        if pending and self.budget is not None:
            self.budget.refuse_unaffordable(list(pending.values()), desc)
        with tqdm(total=len(results) + len(pending), initial=len(results), desc=desc, unit="call") as bar:
            run = _Run(self, results, bar)
            try:
                answer_all = getattr(self.provider, "answer_all", None)
                if answer_all is not None:
                    await answer_all(list(pending.values()), run)
                else:
                    await self._send_all(list(pending.values()), run)
            finally:
                await run.writer.close()
                await _close_batch(self.provider)
        unsent = len(pending) - sum(key in results for key in pending)
        if unsent:
            if self.budget is None:
                raise LLMError(f"{self.provider.name} gave no result for {unsent} call(s) of {desc}")
            raise self.budget.exceeded(unsent, desc)
        return [results[key] for key in keys]

    def _from_ledger(self, requests: Sequence[ChatRequest],
                     keys: Sequence[str]) -> tuple[dict[str, ChatResult], dict[str, ChatRequest]]:
        """The ledger's answers (counted in `usage` at once) and the distinct requests it lacks."""
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
        for hit in results.values():
            self.usage.add(hit)
        return results, pending

    def _refuse_dry_run_answers(self, hits: Iterable[ChatResult]) -> None:
        """With a model's provider, dry-run answers in the ledger must never stand in for the
        model's: a ledger made by the default profile shares its keys with a real run of the same
        model name."""
        if self.config.provider not in MODEL_PROVIDERS:
            return
        n = sum(hit.provider == DRY_RUN for hit in hits)
        if n:
            raise ProviderConfigError(
                f"the ledger {self.ledger.path} answers {n} of these calls with dry-run answers, and "
                f"llm.provider is {self.config.provider}. Start from an empty ledger (remove "
                f"{self.ledger.folder}) so that the model answers them."
            )

    async def _send_all(self, requests: list[ChatRequest], run: _Run) -> None:
        limits = _Limits(self.runtime)

        async def one(request: ChatRequest) -> None:
            try:
                result, held = await self._call(request, limits, run)
            except _NotSent:
                return  # the client reports it as not sent
            run.count(result)
            await run.settle(held)
            await run.store(request, result)

        tasks = [asyncio.ensure_future(one(request)) for request in requests]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _call(self, request: ChatRequest, limits: _Limits, run: _Run) -> tuple[ChatResult, float | None]:
        """One call with retries: its result (saying how many attempts it took) and the budget
        hold it keeps until its cost is counted. Raises _NotSent when the budget stops it."""
        attempt = 0
        while True:
            attempt += 1
            try:
                result, held = await self._attempt(request, limits, run)
            except RetryableError as e:
                if attempt > self.runtime.max_retries:
                    return self._failed(request, f"{e} (gave up after {attempt} attempts)", e.kind, attempt), None
                await asyncio.sleep(self.retry_delay(attempt, e.retry_after))
                continue
            except FatalError as e:
                return self._failed(request, str(e), e.kind, attempt), None
            return dataclasses.replace(result, attempts=attempt, cached=False), held

    async def _attempt(self, request: ChatRequest, limits: _Limits, run: _Run) -> tuple[ChatResult, float | None]:
        await limits.admit(request)
        async with limits.slots:
            held = await run.admit_cost(request)
            try:
                async with asyncio.timeout(self.runtime.timeout_s):
                    return await self.provider.complete(request), held
            except TimeoutError as e:
                await run.settle(held)
                raise RetryableError(f"no answer within runtime.llm.timeout_s={self.runtime.timeout_s:g}s "
                                     f"({request.describe()})", kind="timeout") from e
            except BaseException:
                await run.settle(held)
                raise

    def retry_delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before retry number `attempt`: the server's Retry-After (capped at
        runtime.llm.backoff_max_s) when given, else exponential backoff with jitter."""
        return backoff_delay(self.runtime.backoff_base_s, self.runtime.backoff_max_s, attempt, retry_after, self._jitter)

    def _failed(self, request: ChatRequest, error: str, kind: str, attempts: int) -> ChatResult:
        return ChatResult(key=request.key(), text=None, finish_reason=None, error=error, error_kind=kind,
                          provider=self.provider.name, attempts=attempts)
