"""Reading benchmark rows: a local JSONL, the Hugging Face hub, EvalPlus's downloader.

A source that cannot be reached is a `BenchmarkUnavailable` saying what to pass instead,
never a bare traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evolcoder.benchmarks.base import BenchmarkUnavailable
from evolcoder.jsonl import InputError, read_jsonl


def read_local(path: str | Path) -> list[dict[str, Any]]:
    if not Path(path).is_file():
        raise BenchmarkUnavailable(f"benchmark file not found: {path}")
    return read_jsonl(path)


def field(row: dict, key: str, path: Any) -> Any:
    """`row[key]`, or an InputError naming the file and task."""
    if key not in row:
        raise InputError(f"{path or 'benchmark'}: task {row.get('task_id', '?')} has no '{key}'")
    return row[key]


def hub_rows(dataset_id: str, config: str, split: str, param: str) -> list[dict[str, Any]]:
    """A split of a hub dataset; offline, an error naming the params key `param` to set instead."""
    try:
        from datasets import load_dataset

        return list(load_dataset(dataset_id, config, split=split))
    except Exception as e:  # the hub raises many types when offline; all mean the same here
        raise BenchmarkUnavailable(
            f"could not load {dataset_id} ({config}, {split}) from the hub: {type(e).__name__}: {e}. "
            f"Set {param} to a local copy (JSONL)."
        ) from e


def evalplus_rows(getter: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Problems through `evalplus.data.<getter>()`, which downloads EvalPlus's release."""
    try:
        import evalplus.data

        return list(getattr(evalplus.data, getter)(**kwargs).values())
    except Exception as e:  # EvalPlus downloads from GitHub; offline this fails in many ways
        raise BenchmarkUnavailable(
            f"could not load EvalPlus data through evalplus.data.{getter}(): "
            f"{type(e).__name__}: {e}. Pass a local JSONL in EvalPlus's format instead."
        ) from e
