"""Reading benchmark rows: a local JSONL, the Hugging Face hub, EvalPlus's releases.

A source that cannot be reached is a `BenchmarkUnavailable` saying what to pass instead,
never a bare traceback.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path
from typing import Any

from evolcoder.download import download
from evolcoder.errors import BenchmarkUnavailable
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


def hub_rows(dataset_id: str, config: str | None, split: str, revision: str | None, instead: str) -> list[dict[str, Any]]:
    """A split of a hub dataset at `revision`; offline, an error naming where a local copy goes (`instead`)."""
    try:
        from datasets import load_dataset

        return list(load_dataset(dataset_id, config, split=split, revision=revision))
    except Exception as e:  # the hub raises many types when offline; all mean the same here
        raise BenchmarkUnavailable(
            f"could not load {dataset_id} ({config or 'default'}, {split}, revision {revision or 'main'}) from the "
            f"hub: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}. "
            f"Pass a local copy (JSONL) instead: {instead}."
        ) from e


def evalplus_release_rows(name: str, tag: str, sha256: str | None) -> list[dict[str, Any]]:
    """The rows of an EvalPlus release (`name` HumanEvalPlus or MbppPlus) from its GitHub release
    page, checked against `sha256` when one is pinned; inputs as the file spells them."""
    url = f"https://github.com/evalplus/{name.lower()}_release/releases/download/{tag}/{name}.jsonl.gz"
    with tempfile.TemporaryDirectory() as folder:
        path = download(url, Path(folder) / f"{name}.jsonl.gz", sha256)
        with gzip.open(path, "rb") as f:
            return [json.loads(line) for line in f if line.strip()]
