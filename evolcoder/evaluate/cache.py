"""A results cache: a sample's outcome, keyed by everything that decides it.

The key hashes the harness (the sandbox's and the check's source, Python, EvalPlus and
NumPy versions), the program, the trusted test or check and its arguments (the problem's
tests, expected outputs and per-input time limits) and the resource limits, so a changed
problem, sample, limit or harness never reuses an old verdict. Timeouts are not stored:
the wall-clock backstop depends on the machine's load, and even CPU time varies a little from
run to run, so a sample near its limit is run again rather than remembered.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from evolcoder.exec import Job, Outcome

# Bump when the meaning of a stored outcome changes in a way the sources below do not show.
HARNESS_VERSION = "evolcoder-eval-1"
_SCHEMA = "CREATE TABLE IF NOT EXISTS outcomes (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


@functools.cache
def harness_digest() -> str:
    """A hash of what decides a verdict besides the job: the sandbox's and the check's
    source, the Python that runs the samples, and the EvalPlus and NumPy the check uses."""
    import evalplus
    import numpy

    import evolcoder.exec
    import evolcoder.evaluate.oracles

    sources = sorted(Path(evolcoder.exec.__file__).parent.glob("*.py")) + [Path(evolcoder.evaluate.oracles.__file__)]
    digest = hashlib.sha256(f"{HARNESS_VERSION}|{sys.version}|{evalplus.__version__}|{numpy.__version__}".encode())
    for path in sources:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def job_key(job: Job) -> str:
    """A hash of the harness, the job's code, test, check, check arguments and limits."""
    limits = dataclasses.asdict(job.limits) if job.limits is not None else None
    parts = [harness_digest(), job.code, job.test, job.check, job.check_args, limits]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()


def cacheable(outcome: Outcome) -> bool:
    return outcome.verdict != "timeout" and not _timed_out_inside(outcome.data)


def _timed_out_inside(data: Any) -> bool:
    """EvalPlus outcomes hold per-input verdicts; one that timed out is load-dependent too."""
    return isinstance(data, dict) and any(
        isinstance(v, dict) and v.get("timed_out") for v in data.values()
    )


class ResultsCache:
    """Outcomes in an SQLite file; `None` path gives a cache that stores nothing."""

    def __init__(self, path: Path | None) -> None:
        self._db = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=60)
            self._db.execute(_SCHEMA)

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def get(self, keys: list[str]) -> dict[str, Outcome]:
        if self._db is None or not keys:
            return {}
        found = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, value in self._db.execute(f"SELECT key, value FROM outcomes WHERE key IN ({marks})", chunk):
                found[key] = Outcome(**json.loads(value))
        return found

    def put(self, items: list[tuple[str, Outcome]]) -> None:
        if self._db is None:
            return
        rows = [(k, json.dumps(dataclasses.asdict(o))) for k, o in items if cacheable(o)]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO outcomes VALUES (?, ?)", rows)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> ResultsCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
