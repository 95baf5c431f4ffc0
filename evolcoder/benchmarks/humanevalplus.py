"""HumanEval+ (EvalPlus): HumanEval's problems with base and plus inputs, scored by comparing
outputs with the canonical solution's. From a local JSONL in EvalPlus's format or EvalPlus's
release (v0.1.10, the version evalplus 0.3.1 uses)."""

from __future__ import annotations

from typing import Any

from evolcoder.benchmarks.base import Column, Release
from evolcoder.benchmarks.humaneval import HumanEvalFormat
from evolcoder.benchmarks.sources import evalplus_release_rows


class HumanEvalPlus(HumanEvalFormat):
    name = "humanevalplus"
    default_source = "EvalPlus's HumanEvalPlus release v0.1.10"
    compares_outputs = True
    oracles = "humaneval"
    # Its base tests fill HumanEval's column when HumanEval itself is not scored.
    columns = (Column("HumanEval", "pass@1"), Column("HumanEval+", "plus_pass@1", seed_table=True))
    versions = {"v0.1.10": Release(tasks=164, tag="v0.1.10",
                                   sha256="272720b9ac375502c8ed23cd791c2a93dfb22a911641a494da74a426c09f101")}
    default_version = "v0.1.10"

    def public_rows(self, version: str | None = None) -> list[dict[str, Any]]:
        release = self.release(version)
        return evalplus_release_rows("HumanEvalPlus", release.tag, release.sha256)


HUMANEVALPLUS = HumanEvalPlus()
