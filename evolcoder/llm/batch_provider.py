"""`llm.provider: openai-batch`: OpenAI's Batch API, at half the price, for offline rounds.

A batch of requests (one round's evolution, equality or answer calls) is written as JSONL
input files (at most `runtime.llm.batch_max_requests` lines and `runtime.llm.batch_max_bytes`
each), uploaded with the files API (purpose `batch`) and submitted as batches on
`/v1/chat/completions` with the 24 h window. The ledger journals each input file with its calls
before its batch is created, and the batch id the moment it exists. A run killed while waiting
resumes polling the same batches; an input file whose batch id did not get recorded is looked
up among the account's batches by its file id before a batch is made for it. No call is
submitted twice.

Batches are polled every `runtime.llm.batch_poll_s` seconds, doubling up to
`runtime.llm.batch_poll_max_s`. When all have ended, their output and error files are read:
every answer goes into the ledger under the call its custom id names (a line for an id the
input file did not hold is ignored); a call without a line (missing, or its batch expired,
failed or was cancelled) or with a retryable error goes into a new batch, up to
`runtime.llm.max_retries` times; what still fails is recorded with its error for the failure
policy. Calls are counted at the batch prices.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import openai
from openai.types import Batch

from evolcoder.llm.batch_files import COMPLETION_WINDOW, ENDPOINT, input_file, line_result, result_lines, split_parts
from evolcoder.llm.config import LLMConfig, LLMRuntime, resolve_api_key
from evolcoder.llm.errors import BatchAPIError, FatalError, RetryableError
from evolcoder.llm.ledger import BatchRecord, Ledger
from evolcoder.llm.openai_api import connection_error, make_client, sdk_status_error
from evolcoder.llm.ratelimit import backoff_delay
from evolcoder.llm.types import CallRun, ChatRequest, ChatResult
from evolcoder.llm.usage import Pricing

log = logging.getLogger(__name__)
T = TypeVar("T")

FINAL_STATUSES = ("completed", "failed", "expired", "cancelled")
NO_LINE_KIND = {"completed": "missing_from_output", "failed": "batch_failed", "expired": "batch_expired",
                "cancelled": "batch_cancelled"}
LOOKBACK_S = 3600  # batches created this long before their file's upload are not searched for it


@dataclasses.dataclass(frozen=True)
class _Part:
    """A submitted input file and the budget held back for its calls (None: none, as for a
    batch resumed from the ledger)."""

    record: BatchRecord
    held: float | None


class OpenAIBatchProvider:
    name = "openai-batch"

    def __init__(self, config: LLMConfig, runtime: LLMRuntime, ledger: Ledger,
                 environ: Mapping[str, str] = os.environ) -> None:
        self.config = config
        self.runtime = runtime
        self.ledger = ledger
        self.pricing = Pricing.of(config)
        self._api_key = resolve_api_key(config, environ)
        self.jitter = random.Random()

    async def answer_all(self, requests: Sequence[ChatRequest], run: CallRun) -> None:
        client = make_client(self.config, self._api_key, self.runtime.timeout_s)
        try:
            await _Job(self, client, requests, run).run()
        finally:
            await client.close()


class _Job:
    """One list of requests through the Batch API: resume, submit, wait, collect, retry."""

    def __init__(self, provider: OpenAIBatchProvider, client: openai.AsyncOpenAI, requests: Sequence[ChatRequest],
                 run: CallRun) -> None:
        self.provider = provider
        self.config = provider.config
        self.runtime = provider.runtime
        self.client = client
        self.calls = run
        self.by_key = {request.key(): request for request in requests}
        self.attempts: Counter[str] = Counter()

    async def run(self) -> None:
        parts = await self._resume()
        journaled = {key for part in parts for key in part.record.requests}
        waiting = [request for key, request in self.by_key.items() if key not in journaled]
        while parts or waiting:
            if not parts:  # resumed batches end first: their cost is not held back in the budget
                parts, waiting = await self._submit(waiting)
                if not parts:
                    return  # the budget lets nothing more go out; the client says what was not sent
            retry: list[ChatRequest] = []
            for part, batch in await self._wait(parts):
                retry += await self._collect(part, batch)
            parts, waiting = [], retry + waiting

    async def _resume(self) -> list[_Part]:
        """The journaled batches still open that hold any of these calls."""
        parts = []
        for record in self.provider.ledger.open_batches():
            if not record.requests.keys() & self.by_key.keys():
                continue
            batch_id = record.batch_id or await self._create(record, known_absent=False)
            self.attempts.update(key for key in record.requests if key in self.by_key)
            parts.append(_Part(dataclasses.replace(record, batch_id=batch_id), held=None))
        if parts:
            self.calls.status(f"resumed {len(parts)} batch(es) from the ledger")
        return parts

    async def _submit(self, waiting: list[ChatRequest]) -> tuple[list[_Part], list[ChatRequest]]:
        """Submit as many input files of `waiting` as the budget allows; the parts and the rest."""
        parts = []
        for chunk in split_parts(waiting, self.runtime.batch_max_requests, self.runtime.batch_max_bytes):
            n, held = self.calls.reserve(chunk)
            if n:
                parts.append(await self._start(chunk[:n], held))
            if n < len(chunk):
                break
        sent = {key for part in parts for key in part.record.requests}
        return parts, [request for request in waiting if request.key() not in sent]

    async def _start(self, requests: Sequence[ChatRequest], held: float | None) -> _Part:
        label = _label(requests)
        data = input_file(requests)
        file = await self._api("upload a batch input file", "/files", lambda: self.client.files.create(
            file=(f"evolcoder-{requests[0].key()[:12]}.jsonl", data), purpose="batch"))
        self.provider.ledger.add_batch_file(file.id, label, file.created_at, requests)
        self.attempts.update(request.key() for request in requests)
        record = BatchRecord(file.id, None, label, file.created_at, {request.key(): request for request in requests})
        batch_id = await self._create(record, known_absent=True)
        return _Part(dataclasses.replace(record, batch_id=batch_id), held)

    async def _create(self, record: BatchRecord, known_absent: bool) -> str:
        """The batch of an input file, created unless it exists; its id is journaled at once.
        Every attempt but a fresh file's first looks for the batch first: an attempt that failed
        on the way back may still have created it."""
        async def create() -> Batch:
            nonlocal known_absent
            found = None if known_absent else await self._find(record)
            known_absent = False
            return found or await self.client.batches.create(
                input_file_id=record.input_file_id, endpoint=ENDPOINT, completion_window=COMPLETION_WINDOW,
                metadata={"evolcoder": record.label[:512]})

        batch = await self._api(f"create the batch of input file {record.input_file_id}", "/batches", create)
        self.provider.ledger.set_batch_id(record.input_file_id, batch.id)
        return batch.id

    async def _find(self, record: BatchRecord) -> Batch | None:
        async for batch in self.client.batches.list(limit=100):  # newest first
            if batch.input_file_id == record.input_file_id:
                return batch
            if batch.created_at < record.uploaded_at - LOOKBACK_S:
                return None
        return None

    async def _wait(self, parts: Sequence[_Part]) -> list[tuple[_Part, Batch]]:
        """Poll until every part's batch has ended; the parts with their final batch objects."""
        delay = self.runtime.batch_poll_s
        latest: dict[str, Batch] = {}
        while True:
            for part in parts:
                batch_id = part.record.batch_id
                if batch_id not in latest or latest[batch_id].status not in FINAL_STATUSES:
                    latest[batch_id] = await self._api(f"poll batch {batch_id}", f"/batches/{batch_id}",
                                                       lambda b=batch_id: self.client.batches.retrieve(b))
            self.calls.status(_progress(latest.values()))
            if all(batch.status in FINAL_STATUSES for batch in latest.values()):
                return [(part, latest[part.record.batch_id]) for part in parts]
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.runtime.batch_poll_max_s)

    async def _collect(self, part: _Part, batch: Batch) -> list[ChatRequest]:
        """Store the answers of an ended batch, record what finally failed; the calls to retry."""
        record = part.record
        lines = await self._result_lines(record, batch)
        retry, answers, failures, foreign = [], [], [], []
        for key, request in record.requests.items():
            outcome = self._outcome(request, batch, lines.get(key))
            if key not in self.by_key:  # a resumed batch's call this run did not ask for: keep its answer
                if isinstance(outcome, ChatResult):
                    foreign.append((request, outcome))
            elif isinstance(outcome, ChatResult):
                answers.append((request, dataclasses.replace(outcome, attempts=self.attempts[key])))
            elif (final := self._final_failure(request, outcome)) is not None:
                failures.append((request, final))
            else:
                retry.append(request)
        await asyncio.gather(*(self.calls.record(request, result) for request, result in answers + failures))
        if foreign:
            await asyncio.to_thread(self.provider.ledger.put_many, foreign)
        self.calls.release(part.held)
        self.provider.ledger.close_batch(record.input_file_id, batch.status)
        return retry

    async def _result_lines(self, record: BatchRecord, batch: Batch) -> dict[str, tuple[str, Mapping[str, Any]]]:
        """custom id -> (where, line) over the batch's output and error files."""
        lines: dict[str, tuple[str, Mapping[str, Any]]] = {}
        unknown = 0
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            content = await self._api(f"download file {file_id} of batch {batch.id}", f"/files/{file_id}/content",
                                      lambda f=file_id: self.client.files.content(f))
            for lineno, line in result_lines(content.content):
                key = line.get("custom_id")
                if key in record.requests:
                    lines[key] = (f"batch {batch.id}, file {file_id} line {lineno}", line)
                else:
                    unknown += 1
        if unknown:
            log.warning("batch %s: %d result line(s) name calls its input file %s did not hold; ignored",
                        batch.id, unknown, record.input_file_id)
        return lines

    def _outcome(self, request: ChatRequest, batch: Batch,
                 found: tuple[str, Mapping[str, Any]] | None) -> ChatResult | RetryableError | FatalError:
        if found is None:
            errors = "; ".join(f"{e.code}: {e.message}" for e in (batch.errors.data or [])) if batch.errors else ""
            return RetryableError(f"no result line for this call in batch {batch.id}, which ended {batch.status}"
                                  + (f" ({errors})" if errors else ""), kind=NO_LINE_KIND[batch.status])
        where, line = found
        try:
            return line_result(request, line, where, self.config, self.provider.pricing, self.provider.name)
        except (RetryableError, FatalError) as e:
            return e

    def _final_failure(self, request: ChatRequest, error: RetryableError | FatalError) -> ChatResult | None:
        """The failed result to record, or None while a retryable error has retries left."""
        attempts = self.attempts[request.key()]
        retryable = isinstance(error, RetryableError)
        if retryable and attempts <= self.runtime.max_retries:
            return None
        suffix = f" (gave up after {attempts} batches)" if retryable else ""
        return ChatResult(key=request.key(), text=None, finish_reason=None, error=f"{error}{suffix}",
                          error_kind=error.kind, provider=self.provider.name,
                          attempts=attempts)

    async def _api(self, what: str, path: str, call: Callable[[], Awaitable[T]]) -> T:
        """One files or batches API call, retried like a chat call; gives up with BatchAPIError."""
        url = f"{self.config.endpoint.rstrip('/')}{path}"
        attempt = 0
        while True:
            attempt += 1
            try:
                return await call()
            except openai.APIStatusError as e:
                error = sdk_status_error(e, url, self.config)
            except openai.APIConnectionError as e:
                error = connection_error(e, url, self.runtime.timeout_s, what)
            if isinstance(error, FatalError):
                raise BatchAPIError(f"the Batch API refused to {what}: {error}") from error
            if not isinstance(error, RetryableError):
                raise error
            if attempt > self.runtime.max_retries:
                raise BatchAPIError(
                    f"could not {what} after {attempt} attempts: {error}. The batches created so far are in "
                    f"the ledger {self.provider.ledger.path}: run again to resume them.") from error
            await asyncio.sleep(backoff_delay(self.runtime.backoff_base_s, self.runtime.backoff_max_s, attempt,
                                              error.retry_after, self.provider.jitter))


def _label(requests: Sequence[ChatRequest]) -> str:
    meta = requests[0].meta
    parts = [f"{name}={meta[name]}" for name in ("stage", "round", "purpose") if name in meta]
    return " ".join([*parts, f"calls={len(requests)}"])


def _progress(batches: Iterable[Batch]) -> str:
    """`2 in_progress, 1 completed; 120/300 requests done` over the batches waited on."""
    batches = list(batches)
    statuses = Counter(batch.status for batch in batches)
    counts = [batch.request_counts for batch in batches if batch.request_counts]
    done = sum(c.completed + c.failed for c in counts)
    total = sum(c.total for c in counts)
    return ", ".join(f"{n} {status}" for status, n in statuses.items()) + f"; {done}/{total} requests done"
