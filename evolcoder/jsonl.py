"""JSON Lines files: strict reading with file:line errors, atomic writing."""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from evolcoder.errors import EvolcoderError


class InputError(EvolcoderError, ValueError):
    """A record file is malformed; the message names the file and line."""


class FileBusy(EvolcoderError):
    """Another process is appending to the same file."""


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, value) for each non-blank line of a JSONL file, gzipped when its name
    ends in .gz; raise InputError on bad JSON, UTF-8 or gzip data."""
    with (gzip.open(path, "rb") if str(path).endswith(".gz") else open(path, "rb")) as f:
        try:
            for lineno, raw in enumerate(f, start=1):
                yield lineno, parse_line(raw, path, lineno)
        except (gzip.BadGzipFile, EOFError) as e:
            raise InputError(f"{path}: not a complete gzip file: {e}") from e


def parse_line(raw: bytes, path: str | Path, lineno: int) -> Any:
    """Decode one JSONL line; blank lines give None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}:{lineno}: not valid UTF-8 ({e.reason} at byte {e.start})") from e
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}:{lineno}: malformed JSON: {e.msg} (column {e.colno})") from e


def read_jsonl(path: str | Path) -> list[Any]:
    """All records of a JSONL file, blank lines skipped."""
    return [value for _, value in iter_jsonl(path) if value is not None]


def dumps(record: Any) -> str:
    """One JSONL line (no newline): UTF-8 text, key order kept."""
    return json.dumps(record, ensure_ascii=False)


@contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside `path`; rename it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_jsonl(path: str | Path, records: Iterable[Any]) -> int:
    """Write records atomically; return how many were written."""
    n = 0
    with atomic_open(path) as f:
        for record in records:
            f.write(dumps(record) + "\n")
            n += 1
    return n


def write_json(path: str | Path, value: Any) -> None:
    """Write a JSON document (metrics, manifests) atomically, pretty-printed."""
    with atomic_open(path) as f:
        json.dump(value, f, indent=2, ensure_ascii=False, sort_keys=False)
        f.write("\n")


def read_json(path: str | Path) -> Any:
    """A JSON document a stage wrote (metrics, plot files); malformed, an error naming the file and line."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"{path}:{e.lineno}: malformed JSON ({e.msg}); rerun the stage that writes it") from e


class AppendLog:
    """A JSONL file that a run appends to a batch at a time and a rerun resumes from, held under
    an exclusive lock while open.

    Each batch is one write, flushed and fsynced, so after a SIGKILL the file ends with whole
    lines plus at most one partly written line, which `recover_rows` drops before the run goes on.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a+b")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise FileBusy(f"{self.path} is being written by another process; wait for it or stop it") from None

    def recover_rows(self, select: Callable[[list[Any]], list[Any]] | None = None) -> list[Any]:
        """The file's complete rows (those `select` keeps, when given); a partial last line and
        the rows `select` drops are removed from the file."""
        self._file.seek(0)
        lines = self._file.read().split(b"\n")
        partial = lines.pop()  # b"" when the file ends with a newline
        rows = [parse_line(line, self.path, n) for n, line in enumerate(lines, start=1) if line.strip()]
        kept = select(rows) if select else rows
        if partial or len(kept) != len(rows):
            self._file.truncate(0)
            self._write(b"".join((dumps(row) + "\n").encode("utf-8") for row in kept))
        return kept

    def append(self, rows: Iterable[Any]) -> None:
        """Write a batch of rows durably, with one write."""
        self._write(b"".join((dumps(row) + "\n").encode("utf-8") for row in rows))

    def _write(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> AppendLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
