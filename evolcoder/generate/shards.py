"""Shard planning, append-only shard files that survive a kill, and the merge.

A shard file holds finished tasks only: all samples of a task are written with one write,
flushed and fsynced, so after a SIGKILL the file ends with whole tasks plus at most one
partly written line, which `ShardFile.recover` drops before the run goes on.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from evolcoder.errors import EvolcoderError
from evolcoder.jsonl import AppendLog, FileBusy, read_jsonl

ShardBusy = FileBusy  # another process is writing the same shard file

ROW_FIELDS = ("task_id", "sample", "prompt", "response", "finish_reason", "n_tokens", "batch_shape", "batch_size")


class IncompleteGenerations(EvolcoderError):
    """The shard files lack some task x sample pairs."""


def parse_shard(spec: str) -> tuple[int, int]:
    """'i/N' -> (i, N), with 0 <= i < N."""
    try:
        index, total = (int(part) for part in spec.split("/"))
    except ValueError:
        raise EvolcoderError(f"--shard expects i/N (e.g. 0/4), got {spec!r}") from None
    if not 0 <= index < total:
        raise EvolcoderError(f"--shard {spec}: need 0 <= i < N")
    return index, total


def plan_shards(lengths: Sequence[int], num_shards: int) -> list[list[int]]:
    """Split item indexes into `num_shards` groups of near-equal total length.

    Longest first, each to the lightest shard (LPT); ties go to the lower shard, so the plan
    is deterministic. Each group is returned longest first: alike prompts share a batch, and
    a prompt too long for the model or the largest batch's memory fails in the first minute.
    """
    heap = [(0, shard) for shard in range(num_shards)]
    groups: list[list[int]] = [[] for _ in range(num_shards)]
    for index in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        load, shard = heapq.heappop(heap)
        groups[shard].append(index)
        heapq.heappush(heap, (load + lengths[index], shard))
    return [sorted(group, key=lambda i: (-lengths[i], i)) for group in groups]


def shard_path(folder: str | Path, index: int, total: int) -> Path:
    return Path(folder) / f"shard-{index}-of-{total}.jsonl"


class ShardFile(AppendLog):
    """One shard's output file: whole tasks, appended a batch at a time."""

    def __init__(self, path: str | Path, n_samples: int):
        super().__init__(path)
        self.n_samples = n_samples

    def recover(self) -> set[str]:
        """Drop a partial last line and any task with missing samples; return the finished task ids."""
        return {row["task_id"] for row in self.recover_rows(self._finished)}

    def _finished(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        done = finished_tasks(rows, self.n_samples)
        return [row for row in rows if row["task_id"] in done]


def finished_tasks(rows: Iterable[dict[str, Any]], n_samples: int) -> set[str]:
    """Task ids with every sample 0..n_samples-1 present."""
    samples: dict[str, set[int]] = {}
    for row in rows:
        samples.setdefault(row["task_id"], set()).add(row["sample"])
    return {task for task, have in samples.items() if have == set(range(n_samples))}


def merged_rows(paths: Sequence[str | Path], task_ids: Sequence[str], n_samples: int) -> list[dict[str, Any]]:
    """Every task x sample, in task order, from the shard files; fail naming what is missing."""
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    for path in paths:
        if not Path(path).is_file():
            continue
        for row in read_jsonl(path):
            rows[(row["task_id"], row["sample"])] = row
    missing = [(t, s) for t in task_ids for s in range(n_samples) if (t, s) not in rows]
    if missing:
        raise IncompleteGenerations(describe_missing(missing, len(task_ids) * n_samples, paths))
    return [{k: rows[(t, s)][k] for k in ROW_FIELDS} for t in task_ids for s in range(n_samples)]


def describe_missing(missing: list[tuple[str, int]], expected: int, paths: Sequence[str | Path]) -> str:
    shown = ", ".join(f"{t} sample {s}" for t, s in missing[:10])
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    return (f"{len(missing)} of {expected} task x sample generations are missing from "
            f"{', '.join(str(p) for p in paths)}: {shown}{more}. Run the missing shards "
            "(evolcoder generate --shard i/N), then merge again.")
