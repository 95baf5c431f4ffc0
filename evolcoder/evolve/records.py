"""The evolving pool and the ids of the records each round writes (their fields:
`evolcoder.files.records`).

A round record's `eliminated` is null for a kept item, else a reason code of
`evolcoder.evolve.eliminate` (`api_error` when a call failed after its retries, with the API's
message in `error`). Its `llm` is `{provider, model, keys: {evolve, equality?, answer?}}`: the
ledger keys of the calls.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evolcoder.errors import EvolcoderError
from evolcoder.jsonl import iter_jsonl

SEED_FIELDS = ("id", "instruction", "input", "output")


@dataclass(frozen=True)
class PoolItem:
    """An instruction waiting to be evolved: a seed, or the latest survivor of its lineage."""

    id: str
    root_id: str
    instruction: str
    input: str
    output: str
    born: int  # the round that produced it; 0 for a seed

    def child(self, round: int, method: str, instruction: str, output: str) -> PoolItem:
        """The item an accepted evolution of this one becomes."""
        return PoolItem(
            id=record_id(self.id, round, method, instruction),
            root_id=self.root_id,
            instruction=instruction,
            input="",
            output=output,
            born=round,
        )


def record_id(parent_id: str, round: int, method: str, instruction: str) -> str:
    """A stable id: a hash of parent, round, method and evolved instruction."""
    text = f"{parent_id}\x1f{round}\x1f{method}\x1f{instruction}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_seed_pool(path: str | Path, limit: int | None = None) -> list[PoolItem]:
    """The first `limit` seed records of `path` (all when None) as the round-1 pool."""
    if not Path(path).is_file():
        raise EvolcoderError(f"{path} does not exist: run the seed stage first (`dvc repro seed`)")
    pool: list[PoolItem] = []
    seen: dict[str, int] = {}
    for lineno, row in iter_jsonl(path):
        if row is None:
            continue
        if limit is not None and len(pool) >= limit:
            break
        pool.append(_seed_item(row, f"{path}:{lineno}"))
        if pool[-1].id in seen:
            raise EvolcoderError(
                f"{path}:{lineno}: seed id {pool[-1].id!r} repeats line {seen[pool[-1].id]}; "
                "ids must be unique (rerun the seed stage, which removes duplicates)"
            )
        seen[pool[-1].id] = lineno
    return pool


def _seed_item(row: Any, where: str) -> PoolItem:
    if not isinstance(row, dict):
        raise EvolcoderError(f"{where}: expected a JSON object, got {type(row).__name__}")
    missing = [f for f in SEED_FIELDS if not isinstance(row.get(f), str)]
    if missing:
        raise EvolcoderError(f"{where}: seed record lacks string field(s) {missing}")
    return PoolItem(
        id=row["id"],
        root_id=row["id"],
        instruction=row["instruction"],
        input=row["input"],
        output=row["output"],
        born=0,
    )
