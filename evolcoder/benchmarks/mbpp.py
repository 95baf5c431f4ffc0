"""MBPP: the 500 test tasks (11-510) WizardCoder reports, and `mbpp_valid`, the 90 validation
tasks (511-600) to choose a recipe on without touching the test set.

From a local JSONL of MBPP's format (the test split, or `mbpp.jsonl` with all splits) or the
hub's 'full' config. WizardCoder's prompt: the task text, "Test examples:" and its asserts;
the test program runs the code, its setup and its three asserts.
"""

from __future__ import annotations

from typing import Any

from evolcoder.benchmarks.base import Benchmark, Column, Problem
from evolcoder.benchmarks.sources import field, hub_rows
from evolcoder.jsonl import InputError
from evolcoder.templates import CODE_TASK_PREFIX, task_prompt

HUB_ID = "google-research-datasets/mbpp"


def mbpp_task_id(raw: Any) -> str:
    """MBPP ids as 'Mbpp/N', EvalPlus's spelling; accepts 11, '11' or 'Mbpp/11'."""
    number = str(raw).split("/")[-1]
    if not number.isdigit():
        raise ValueError(f"not an MBPP task id: {raw!r}")
    return f"Mbpp/{int(number)}"


def entry_point_of(assertion: str) -> str:
    """The function an MBPP assert calls: 'assert f(1) == 2' -> 'f'."""
    head = assertion.removeprefix("assert").strip().lstrip("(").lstrip()
    if head.startswith("math.isclose(") or head.startswith("set("):
        head = head.split("(", 1)[1]
    return head.split("(", 1)[0].strip()


class Mbpp(Benchmark):
    name = "mbpp"
    default_source = f"the hub's {HUB_ID} ('full', test split)"
    cut_markers = (*Benchmark.cut_markers, "# Test examples")
    columns = (Column("MBPP", "pass@1", seed_table=True),)
    task_numbers = range(11, 511)
    hub_split = "test"

    def public_rows(self, version: str | None = None) -> list[dict[str, Any]]:
        """The hub's split at revision `version` (a commit of the dataset repository)."""
        return hub_rows(HUB_ID, "full", self.hub_split, version, f"--problems, or data/benchmarks/{self.name}.jsonl")

    def problems(self, rows: list[dict[str, Any]], where: str | None) -> list[Problem]:
        numbered = sorted((self._number(row, where), i) for i, row in enumerate(rows))
        return [self._problem(rows[i], where) for number, i in numbered if number in self.task_numbers]

    def prompt(self, problem: Problem, tabs: bool = False, style: str = "alpaca") -> str:
        """mbpp_gen.py's prompt: one blank line after the header in every version of the script,
        so `style` does not change it."""
        body = f"\n{problem.text}\nTest examples:" + "".join(f"\n{t}" for t in problem.test_list)
        return task_prompt(CODE_TASK_PREFIX + body, tabs=tabs)

    def task_id(self, raw: Any) -> str:
        return mbpp_task_id(raw)

    def test_program(self, problem: Problem, program: str) -> str:
        return "\n".join([program, problem.test_setup, *problem.test_list]) + "\n"

    def _number(self, row: dict, where: str | None) -> int:
        try:
            return int(mbpp_task_id(field(row, "task_id", where)).split("/")[1])
        except ValueError as e:
            raise InputError(f"{where or HUB_ID}: {e}") from e

    def _problem(self, row: dict, where: str | None) -> Problem:
        tests = tuple(field(row, "test_list", where))
        return Problem(
            benchmark=self.name,
            task_id=mbpp_task_id(row["task_id"]),
            entry_point=entry_point_of(tests[0]) if tests else "",
            text=field(row, "text", where),
            canonical_solution=field(row, "code", where),
            test_list=tests,
            test_setup=row.get("test_setup_code", ""),
            challenge_test_list=tuple(row.get("challenge_test_list", ())),
        )


class MbppValid(Mbpp):
    name = "mbpp_valid"
    default_source = f"the hub's {HUB_ID} ('full', validation split)"
    columns = (Column("MBPP valid", "pass@1"),)
    task_numbers = range(511, 601)
    hub_split = "validation"


MBPP = Mbpp()
MBPP_VALID = MbppValid()
