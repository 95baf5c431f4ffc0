"""What the verify stage reads and writes: the seed and the rounds in, labelled copies out.

In: the seed file and the round files that the evolve stage's manifest lists. Out: the same
rows in the same files and order, each with `verified` and `verify_detail` added (the formats:
`evolcoder.files.records`); round files of an earlier, longer run are removed. An
eliminated evolution is labelled `skipped` and never checked: no stage trains on it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evolcoder.errors import EvolcoderError
from evolcoder.files.records import MANIFEST, ROUND_FILES, SEED_METHOD, SEED_ROUND, SEED_ROWS, round_filename
from evolcoder.jsonl import iter_jsonl, write_jsonl
from evolcoder.verify.verify import Answer, Label

ELIMINATED = Label("skipped", {"reason": "eliminated by the evolution"})


@dataclass(frozen=True)
class RowFile:
    """The rows of one file as read: the seed (round 0) or a round's records."""

    round: int
    name: str
    rows: list[dict[str, Any]]


class Rows:
    """The seed and every round, and the answers among them to check."""

    def __init__(self, files: Sequence[RowFile]) -> None:
        self.files = list(files)

    @classmethod
    def read(cls, seed_path: str | Path, evol_dir: str | Path) -> Rows:
        """The seed file and the rounds `evol_dir/manifest.json` lists."""
        manifest_path = Path(evol_dir) / MANIFEST
        for path in (Path(seed_path), manifest_path):
            if not path.is_file():
                raise EvolcoderError(f"{path} does not exist: run the seed and evolve stages first "
                                     "(`dvc repro evolve`)")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = [RowFile(SEED_ROUND, SEED_ROWS, _read(seed_path))]
        files += [RowFile(f["round"], round_filename(f["round"]), _read(Path(evol_dir) / f["path"]))
                  for f in manifest["files"]]
        return cls(files)

    def answers(self) -> list[Answer]:
        """The rows to check, file by file: every seed row and every kept evolution."""
        return [_answer(row, f.round) for f in self.files for row in f.rows if not row.get("eliminated")]

    def write(self, out_dir: str | Path, labels: Sequence[Label]) -> None:
        """Write every file with its labels (`labels` in the order of `answers()`) into `out_dir`."""
        out_dir = Path(out_dir)
        remaining = iter(labels)
        for f in self.files:
            rows = []
            for row in f.rows:
                label = ELIMINATED if row.get("eliminated") else next(remaining)
                rows.append({**row, "verified": label.verified, "verify_detail": label.detail})
            write_jsonl(out_dir / f.name, rows)
        if next(remaining, None) is not None:
            raise ValueError("more labels than answers")
        names = {f.name for f in self.files}
        for stale in out_dir.glob(ROUND_FILES):
            if stale.name not in names:
                stale.unlink()


def _read(path: str | Path) -> list[dict[str, Any]]:
    rows = []
    for lineno, row in iter_jsonl(path):
        if row is None:
            continue
        where = f"{path}:{lineno}"
        if not isinstance(row, dict):
            raise EvolcoderError(f"{where}: expected a JSON object, got {type(row).__name__}")
        bad = [key for key in ("id", "instruction", "output") if not isinstance(row.get(key), str)]
        if bad or not isinstance(row.get("input") or "", str):
            raise EvolcoderError(f"{where}: {', '.join(bad) or 'input'} must be a string; "
                                 "rerun the stage that wrote it")
        rows.append(row)
    return rows


def _answer(row: dict[str, Any], k: int) -> Answer:
    return Answer(id=row["id"], round=k, method=row.get("method") or SEED_METHOD,
                  instruction=row["instruction"], input=row.get("input") or "", output=row["output"])
