"""MBPP+ (EvalPlus): MBPP tasks with base and plus inputs, scored by comparing outputs with the
canonical solution's, EvalPlus's prompt (the task docstring with its first assertion). From a
local JSONL in EvalPlus's format or EvalPlus's release.

Two versions are in use: v0.2.0 (378 tasks, evalplus 0.3.1's default), and the 399-task
version before EvalPlus removed 21 broken tasks (released as v0.1.0; WizardCoder-33B-V1.1's
MBPP+ figures used a snapshot of it). Scores differ by a few points between them."""

from __future__ import annotations

from typing import Any

from evolcoder.benchmarks.base import Benchmark, Column, Problem, Release
from evolcoder.benchmarks.mbpp import MBPP, mbpp_task_id
from evolcoder.benchmarks.sources import evalplus_release_rows, field
from evolcoder.templates import CODE_TASK_PREFIX, assertion_question, task_prompt


class MbppPlus(Benchmark):
    name = "mbppplus"
    default_source = "EvalPlus's MbppPlus release v0.2.0"
    compares_outputs = True
    oracles = "mbpp"
    cut_markers = MBPP.cut_markers
    columns = (Column("MBPP+", "plus_pass@1", seed_table=True),)
    versions = {"v0.2.0": Release(tasks=378, tag="v0.2.0",
                                  sha256="af43697e8791c4c149bdfd6b489d8b5412507551ac20e28a439f650b8225db63"),
                "399": Release(tasks=399, tag="v0.1.0")}
    default_version = "v0.2.0"

    def public_rows(self, version: str | None = None) -> list[dict[str, Any]]:
        release = self.release(version)
        return evalplus_release_rows("MbppPlus", release.tag, release.sha256)

    def problems(self, rows: list[dict[str, Any]], where: str | None) -> list[Problem]:
        return [self._problem(row, where) for row in rows]

    def prompt(self, problem: Problem, tabs: bool = False, style: str = "alpaca") -> str:
        """EvalPlus's docstring (the task and one assertion) after CODE_TASK_PREFIX; in the
        eval-scripts style, WizardCoder-33B-V1.1's wording of the same two (`assertion_question`)."""
        text, example = task_and_example(problem)
        if style == "eval-scripts":
            return task_prompt(assertion_question(text, example), style, tabs)
        return task_prompt(CODE_TASK_PREFIX + f'"""\n{text}\n{example}\n"""\n', style, tabs)

    def task_id(self, raw: Any) -> str:
        return mbpp_task_id(raw)

    def inputs(self, problem: Problem) -> dict[str, list[Any]]:
        """MBPP+ stores tuples, sets and complex numbers as lists: EvalPlus's own decoding."""
        from evalplus.data.mbpp import mbpp_deserialize_inputs

        return {name: mbpp_deserialize_inputs(problem.task_id, inputs) for name, inputs in super().inputs(problem).items()}

    def serialize_inputs(self, problem: Problem, inputs: list[Any]) -> list[Any]:
        """Sets and complex numbers back to the file's lists and strings, as EvalPlus writes them."""
        from evalplus.data.mbpp import mbpp_serialize_inputs

        return mbpp_serialize_inputs(problem.task_id, inputs)

    def _problem(self, row: dict, where: str | None) -> Problem:
        prompt = field(row, "prompt", where)
        return Problem(
            benchmark=self.name,
            task_id=mbpp_task_id(field(row, "task_id", where)),
            entry_point=field(row, "entry_point", where),
            text=prompt.strip().strip("'\"").strip(),
            canonical_solution=field(row, "canonical_solution", where),
            base_inputs=field(row, "base_input", where),
            plus_inputs=row.get("plus_input", []),
            atol=float(row.get("atol", 0) or 0),
            contract=row.get("contract", ""),
            assertion=row.get("assertion", ""),
        )


def task_and_example(problem: Problem) -> tuple[str, str]:
    """The task and its example assertion: the assertion EvalPlus's docstring prompt ends with
    (its releases), else the first assert of the tests (the 399-task snapshot's prompts hold none)."""
    *task, last = problem.text.split("\n")
    if task and last.startswith("assert"):
        return "\n".join(task).strip(), last
    return problem.text, next(line for line in problem.assertion.split("\n") if line.startswith("assert"))


MBPPPLUS = MbppPlus()
