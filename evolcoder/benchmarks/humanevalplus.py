"""HumanEval+ (EvalPlus): HumanEval's problems with base and plus inputs, scored by comparing
outputs with the canonical solution's. From a local JSONL in EvalPlus's format or EvalPlus's
downloader (evalplus 0.3.1 takes v0.1.10)."""

from __future__ import annotations

from evolcoder.benchmarks.base import Column, Problem, Release
from evolcoder.benchmarks.humaneval import HumanEvalFormat
from evolcoder.benchmarks.sources import evalplus_rows, read_local


class HumanEvalPlus(HumanEvalFormat):
    name = "humanevalplus"
    order = 20
    default_source = "EvalPlus's release, through evalplus.data.get_human_eval_plus()"
    compares_outputs = True
    oracles = "humaneval"
    # Its base tests fill HumanEval's column when HumanEval itself is not scored.
    columns = (Column("HumanEval", "pass@1"), Column("HumanEval+", "plus_pass@1", {"greedy": 52.4}, seed_table=True))
    versions = {"v0.1.10": Release(tasks=164, tag="v0.1.10")}
    default_version = "v0.1.10"

    def load(self, path: str | None) -> list[Problem]:
        if path is None:
            return self.download(self.versions[self.default_version].tag)
        return [self.problem_from_row(row, path) for row in read_local(path)]

    def download(self, tag: str) -> list[Problem]:
        return [self.problem_from_row(row, tag) for row in evalplus_rows("get_human_eval_plus", version=tag)]


HUMANEVALPLUS = HumanEvalPlus()
