"""The call ledger: every answered LLM call, stored durably the moment it arrives.

One SQLite database (`ledger.sqlite`) in the ledger folder, in WAL mode with
`synchronous=FULL`: when `put` returns, the row is on disk, so a process killed with
SIGKILL loses nothing it had recorded. Rows are only ever inserted. Only successful results
are stored; a failed call is tried again on the next run. One ledger may be used from several
threads (the client commits from a worker thread so that a slow fsync never stalls its calls).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable
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
)
"""


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
        self._db.execute(_SCHEMA)

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
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany("INSERT OR IGNORE INTO calls VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
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
    record = {**fields, "meta": dict(request.meta)}
    stored = dataclasses.replace(result, cached=False)
    return (result.key, fields["model"], fields["temperature"], fields["top_p"], fields["max_tokens"],
            fields["sample"], json.dumps(record, ensure_ascii=False, default=str),
            json.dumps(dataclasses.asdict(stored), ensure_ascii=False))
