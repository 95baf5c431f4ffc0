"""MBPP+ (EvalPlus): MBPP tasks with base and plus inputs, scored by comparing outputs with the
canonical solution's, EvalPlus's prompt (the task docstring with its first assertion)."""

from __future__ import annotations

from typing import Any

from evolcoder.benchmarks.base import Benchmark, Column, Problem
from evolcoder.benchmarks.mbpp import MBPP, mbpp_task_id
from evolcoder.benchmarks.sources import evalplus_rows, field, read_local
from evolcoder.templates import CODE_TASK_PREFIX, alpaca_prompt


class MbppPlus(Benchmark):
    name = "mbppplus"
    order = 40
    default_source = "EvalPlus's release, through evalplus.data.get_mbpp_plus()"
    compares_outputs = True
    oracles = "mbpp"
    cut_markers = MBPP.cut_markers
    columns = (Column("MBPP+", "plus_pass@1", seed_table=True),)

    def load(self, path: str | None) -> list[Problem]:
        rows = read_local(path) if path else evalplus_rows("get_mbpp_plus")
        return [self._problem(row, path) for row in rows]

    def prompt(self, problem: Problem, tabs: bool = False) -> str:
        first_assert = problem.assertion.strip().split("\n")[0]
        body = f'"""\n{problem.text.strip()}\n{first_assert}\n"""\n'
        return alpaca_prompt(CODE_TASK_PREFIX + body)

    def task_id(self, raw: Any) -> str:
        return mbpp_task_id(raw)

    def inputs(self, problem: Problem) -> dict[str, list[Any]]:
        """MBPP+ stores tuples, sets and complex numbers as lists: EvalPlus's own decoding."""
        from evalplus.data.mbpp import mbpp_deserialize_inputs

        return {name: mbpp_deserialize_inputs(problem.task_id, inputs) for name, inputs in super().inputs(problem).items()}

    def _problem(self, row: dict, path: Any) -> Problem:
        prompt = field(row, "prompt", path)
        return Problem(
            benchmark=self.name,
            task_id=mbpp_task_id(field(row, "task_id", path)),
            entry_point=field(row, "entry_point", path),
            text=prompt.strip().strip("'\"").strip(),
            canonical_solution=field(row, "canonical_solution", path),
            base_inputs=field(row, "base_input", path),
            plus_inputs=row.get("plus_input", []),
            atol=float(row.get("atol", 0) or 0),
            contract=row.get("contract", ""),
            assertion=row.get("assertion", ""),
        )


MBPPPLUS = MbppPlus()
