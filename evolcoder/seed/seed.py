"""The seed instructions: read a local file, validate and normalise rows, dedupe, pick a subset.

`seed.source` is a file (a DVC dependency of the seed stage): the built-in set, your own JSON
list or JSONL, or a file the `fetch` stage downloaded from a URL or the hub into `data/external/`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from evolcoder.config import check
from evolcoder.download import file_sha256
from evolcoder.errors import EvolcoderError
from evolcoder.files.records import normalize_text, seed_id
from evolcoder.jsonl import InputError, parse_line

FIELDS = ("instruction", "input", "output")


class SeedSourceError(EvolcoderError):
    """The seed source cannot be read."""


@dataclass
class SeedConfig:
    source: str = "evolcoder/seed/builtin_seeds.jsonl"
    limit: int | None = None
    shuffle_seed: int | None = 0
    on_error: Literal["fail", "skip"] = "fail"

    def __post_init__(self) -> None:
        check(self.limit is None or self.limit > 0, "seed.limit", f"must be positive or null, got {self.limit}")
        check(not self.source.startswith(("http://", "https://", "hf:")), "seed.source",
              f"{self.source!r} is not a local file: add it to the fetch params (url + sha256, or hf + revision) "
              "with `to: data/external/<file>`, and set seed.source to that file, so DVC hashes what was read")


@dataclass(frozen=True)
class RawRow:
    """One row as read, with where it came from (`file:line`, `file: item N (line L)`)."""

    where: str
    value: Any


@dataclass(frozen=True)
class Reject:
    where: str
    error: str


@dataclass
class SeedSet:
    records: list[dict[str, str]]
    rejects: list[Reject] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)


def make_seed(config: SeedConfig) -> SeedSet:
    """Read the file `config.source` and turn it into the seed set; raise InputError on a bad row
    unless `on_error` is 'skip'."""
    path = Path(config.source)
    if not path.is_file():
        raise SeedSourceError(f"seed.source {config.source!r} is not a file: give a local JSON list or JSONL "
                              f"(the built-in set is {SeedConfig.source})")
    seed = build_seed(read_file_rows(path, skip_bad_lines=config.on_error == "skip"), path.name, config)
    seed.stats["source_sha256"] = file_sha256(path)
    return seed


def read_file_rows(path: Path, skip_bad_lines: bool = False) -> list[RawRow]:
    """Rows of a JSON list or a JSONL file. Bad JSONL lines become rows holding an
    InputError when `skip_bad_lines`, so they are counted as rejects."""
    raw = path.read_bytes()
    if raw.lstrip()[:1] == b"[":
        return list(_json_list_rows(path, raw))
    return list(_jsonl_rows(path, raw, skip_bad_lines))


def _jsonl_rows(path: Path, raw: bytes, skip_bad_lines: bool) -> Iterator[RawRow]:
    for lineno, line in enumerate(raw.splitlines(), start=1):
        try:
            value = parse_line(line, path, lineno)
        except InputError as e:
            if not skip_bad_lines:
                raise
            value = e
        if value is not None:
            yield RawRow(f"{path}:{lineno}", value)


def _json_list_rows(path: Path, raw: bytes) -> Iterator[RawRow]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not valid UTF-8 ({e.reason} at byte {e.start})") from e
    decoder = json.JSONDecoder()
    pos, line, counted_to = text.index("[") + 1, 1, 0
    index = 0
    while True:
        pos = _skip_separators(text, pos, path)
        if pos >= len(text) or text[pos] == "]":
            return
        line += text.count("\n", counted_to, pos)
        counted_to = pos
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{e.lineno}: malformed JSON: {e.msg} (column {e.colno})") from e
        yield RawRow(f"{path}: item {index} (line {line})", value)
        index += 1


def _skip_separators(text: str, pos: int, path: Path) -> int:
    while pos < len(text) and (text[pos].isspace() or text[pos] == ","):
        pos += 1
    if pos >= len(text):
        raise InputError(f"{path}: the JSON list is not closed with ']'")
    return pos


def build_seed(rows: list[RawRow], label: str, config: SeedConfig) -> SeedSet:
    """Validate, normalise, dedupe, shuffle and limit rows into seed records."""
    records, rejects, seen = [], [], set()
    empty = duplicates = 0
    for row in rows:
        try:
            record = to_record(row, label)
        except InputError as e:
            if config.on_error == "fail":
                raise
            rejects.append(Reject(row.where, str(e)))
            continue
        if not record["instruction"]:
            empty += 1
        elif (record["instruction"], record["input"]) in seen:
            duplicates += 1
        else:
            seen.add((record["instruction"], record["input"]))
            records.append(record)
    if config.shuffle_seed is not None:
        random.Random(config.shuffle_seed).shuffle(records)
    if config.limit is not None:
        records = records[: config.limit]
    stats = {
        "source": label,
        "n_read": len(rows),
        "n_written": len(records),
        "n_rejected": len(rejects),
        "n_empty_instruction": empty,
        "n_duplicates": duplicates,
    }
    return SeedSet(records, rejects, stats)


def to_record(row: RawRow, label: str) -> dict[str, str]:
    """A seed record from a raw row; InputError naming `row.where` if it does not fit."""
    if isinstance(row.value, InputError):
        raise row.value
    if not isinstance(row.value, dict):
        raise InputError(f"{row.where}: expected an object with 'instruction', got {type(row.value).__name__}")
    if "instruction" not in row.value:
        raise InputError(f"{row.where}: missing 'instruction'")
    texts = {}
    for name in FIELDS:
        value = row.value.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise InputError(f"{row.where}: '{name}' must be a string, got {type(value).__name__}")
        texts[name] = normalize_text(value) if name == "output" else normalize_text(value).strip()
    return {"id": seed_id(texts["instruction"], texts["input"]), **texts, "source": label}
