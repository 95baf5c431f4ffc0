"""One record type for a benchmark problem, whatever the source."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BENCHMARKS = ("humaneval", "humanevalplus", "mbpp", "mbppplus")


@dataclass(frozen=True)
class Problem:
    """A benchmark task.

    `prompt` is what a completion continues (HumanEval's signature and docstring; empty for
    MBPP); `text` the natural-language task (MBPP) or the docstring prompt (MBPP+).
    `canonical_solution` is as its source ships it: a function body for HumanEval(+), a
    whole program for MBPP(+); `reference_program` always gives a whole program.
    `test` is test code ending in a `check(candidate)` for HumanEval; MBPP keeps its asserts
    in `test_list` and setup code in `test_setup`. EvalPlus problems carry their inputs.
    """

    benchmark: str
    task_id: str
    entry_point: str
    prompt: str = ""
    text: str = ""
    canonical_solution: str = ""
    test: str = ""
    test_list: tuple[str, ...] = ()
    test_setup: str = ""
    challenge_test_list: tuple[str, ...] = ()
    base_inputs: list[Any] = field(default_factory=list)
    plus_inputs: list[Any] = field(default_factory=list)
    atol: float = 0.0
    contract: str = ""
    assertion: str = ""

    @property
    def is_evalplus(self) -> bool:
        return self.benchmark in ("humanevalplus", "mbppplus")

    def reference_program(self) -> str:
        """The canonical solution as a whole program."""
        if self.benchmark in ("humaneval", "humanevalplus"):
            return self.prompt + self.canonical_solution
        return self.canonical_solution


def mbpp_task_id(raw: Any) -> str:
    """MBPP ids as 'Mbpp/N', EvalPlus's spelling; accepts 11, '11' or 'Mbpp/11'."""
    text = str(raw)
    number = text.split("/")[-1]
    if not number.isdigit():
        raise ValueError(f"not an MBPP task id: {raw!r}")
    return f"Mbpp/{int(number)}"


def normalize_task_id(benchmark: str, raw: Any) -> str:
    """A samples file's task id in our spelling for `benchmark`."""
    if benchmark in ("mbpp", "mbppplus"):
        return mbpp_task_id(raw)
    return str(raw)
