"""The call ledger: every answered LLM call, stored durably the moment it arrives.

One SQLite database (`ledger.sqlite`) in the ledger folder, in WAL mode with
`synchronous=FULL`: when `put` returns, the row is on disk, so a process killed with
SIGKILL loses nothing it had recorded. Rows are only ever inserted. Only successful results
are stored; a failed call is tried again on the next run. One ledger may be used from several
threads (the client commits from a worker thread so that a slow fsync never stalls its calls).

It also journals the Batch API's work (`llm.provider: openai-batch`): each uploaded input
file with the calls it holds, and its batch id the moment the batch exists, so a run killed
while waiting resumes the same batches instead of paying for the calls again.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from evolcoder.llm.types import ChatRequest, ChatResult

FILENAME = "ledger.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    temperature REAL NOT NULL,
    top_p REAL NOT NULL,
    max_tokens INTEGER NOT NULL,
    sample INTEGER NOT NULL,
    request TEXT NOT NULL,
    result TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    input_file_id TEXT PRIMARY KEY,
    batch_id TEXT UNIQUE,
    label TEXT NOT NULL,
    uploaded_at REAL NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_calls (
    input_file_id TEXT NOT NULL,
    key TEXT NOT NULL,
    request TEXT NOT NULL,
    PRIMARY KEY (input_file_id, key)
)
"""
OPEN = "open"  # the status of a journaled batch whose results are not collected yet


@dataclass(frozen=True)
class AnswerStats:
    """Sums over a group of a model's answers: their prompts' characters and their tokens."""

    calls: int
    prompt_chars: int
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class BatchRecord:
    """A journaled Batch API input file: its batch (None until created) and the calls it holds."""

    input_file_id: str
    batch_id: str | None
    label: str
    uploaded_at: float
    requests: dict[str, ChatRequest]


class Ledger:
    """Keyed store of answered calls in `folder` (created if absent)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / FILENAME
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def get(self, key: str) -> ChatResult | None:
        """The stored result for `key`, marked `cached`, or None."""
        with self._lock:
            row = self._db.execute("SELECT result FROM calls WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return dataclasses.replace(ChatResult(**json.loads(row[0])), cached=True)

    def put(self, request: ChatRequest, result: ChatResult) -> None:
        """Store a successful result durably; a result with an error is refused."""
        self.put_many([(request, result)])

    def put_many(self, items: Iterable[tuple[ChatRequest, ChatResult]]) -> None:
        """Store several results in one transaction (one fsync), durably when it returns."""
        rows = [_row(request, result) for request, result in items]
        self._transaction([("INSERT OR IGNORE INTO calls VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)])

    def add_batch_file(self, input_file_id: str, label: str, uploaded_at: float,
                       requests: Sequence[ChatRequest]) -> None:
        """Journal an uploaded input file and its calls, durably, before its batch is created."""
        calls = [(input_file_id, r.key(), json.dumps(r.record(), ensure_ascii=False, default=str)) for r in requests]
        self._transaction([("INSERT INTO batches VALUES (?, NULL, ?, ?, ?)", [(input_file_id, label, uploaded_at, OPEN)]),
                           ("INSERT INTO batch_calls VALUES (?, ?, ?)", calls)])

    def set_batch_id(self, input_file_id: str, batch_id: str) -> None:
        """Record the batch made from an input file, durably, as soon as it exists."""
        self._transaction([("UPDATE batches SET batch_id = ? WHERE input_file_id = ?", [(batch_id, input_file_id)])])

    def close_batch(self, input_file_id: str, status: str) -> None:
        """Mark a batch collected (its answers are stored), with its final status."""
        self._transaction([("UPDATE batches SET status = ? WHERE input_file_id = ?", [(status, input_file_id)])])

    def open_batches(self) -> list[BatchRecord]:
        """The journaled batches not collected yet, oldest first."""
        with self._lock:
            files = self._db.execute("SELECT input_file_id, batch_id, label, uploaded_at FROM batches "
                                     "WHERE status = ? ORDER BY uploaded_at, rowid", (OPEN,)).fetchall()
            calls = self._db.execute("SELECT c.input_file_id, c.key, c.request FROM batch_calls c JOIN batches b "
                                     "USING (input_file_id) WHERE b.status = ?", (OPEN,)).fetchall()
        requests: dict[str, dict[str, ChatRequest]] = {row[0]: {} for row in files}
        for file_id, key, request in calls:
            requests[file_id][key] = ChatRequest.from_record(json.loads(request))
        return [BatchRecord(file_id, batch_id, label, uploaded_at, requests[file_id])
                for file_id, batch_id, label, uploaded_at in files]

    def _transaction(self, statements: Sequence[tuple[str, Sequence[tuple]]]) -> None:
        """Run `executemany` statements in one transaction: all on disk when it returns, or none."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for sql, rows in statements:
                    self._db.executemany(sql, rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def param_counts(self) -> Counter[tuple[str, float, float, int]]:
        """How many stored calls there are per (model, temperature, top_p, max_tokens)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT model, temperature, top_p, max_tokens, COUNT(*) FROM calls "
                "GROUP BY model, temperature, top_p, max_tokens"
            ).fetchall()
        return Counter({tuple(row[:4]): row[4] for row in rows})

    def answer_stats(self, model: str, stage: str) -> dict[str, AnswerStats]:
        """Per purpose, the sums over `model`'s answers to `stage`'s calls that report their
        usage; answers of the dry-run provider (its token counts are made up) are left out."""
        with self._lock:
            rows = self._db.execute(
                "SELECT json_extract(request, '$.meta.purpose'), COUNT(*), SUM((SELECT SUM(length(json_extract("
                "m.value, '$[1]'))) FROM json_each(json_extract(request, '$.messages')) m)), "
                "SUM(json_extract(result, '$.prompt_tokens')), SUM(json_extract(result, '$.completion_tokens')) "
                "FROM calls WHERE model = ? AND json_extract(request, '$.meta.stage') = ? "
                "AND json_extract(result, '$.provider') != 'dry-run' AND json_extract(result, '$.prompt_tokens') > 0 "
                "GROUP BY 1", (model, stage)).fetchall()
        return {purpose: AnswerStats(*numbers) for purpose, *numbers in rows}

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _row(request: ChatRequest, result: ChatResult) -> tuple:
    if not result.ok:
        raise ValueError(f"the ledger stores answers only; call {result.key} failed: {result.error}")
    if result.key != request.key():
        raise ValueError(f"result key {result.key} does not belong to request {request.key()}")
    fields = request.key_fields()
    record = request.record()
    stored = dataclasses.replace(result, cached=False)
    return (result.key, fields["model"], fields["temperature"], fields["top_p"], fields["max_tokens"],
            fields["sample"], json.dumps(record, ensure_ascii=False, default=str),
            json.dumps(dataclasses.asdict(stored), ensure_ascii=False))
