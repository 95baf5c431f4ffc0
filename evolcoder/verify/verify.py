"""A label for every answer: does its code parse, run, pass tests? By `verify.mode`:

- `none`: every answer is `skipped` (the paper kept answers unchecked);
- `compile`: Python code that compiles is `passed`, else `failed`;
- `run`: the code runs in the sandbox (top-level examples and asserts included, with
  `__name__` set to "__sample__", so an `if __name__ == "__main__":` block does not run)
  within `verify.timeout_s` and `verify.memory_mb`: `passed`, `failed` (it raised, was killed,
  or printed more than `verify.max_output_kb`) or `timeout`;
- `tests`: the teacher writes assert-based tests of the task for each answer that compiles
  (`teacher.py`); the answer passes when every statement of them does (`asserts.py`). A test
  block that does not parse, holds no assert or whose call failed makes the answer `skipped`.

In every mode but `none`, answers without code are `no_code` and answers in another language
`not_python` (`language.py`): those are never run, and never `failed`. Compiling is checked
here (parsing runs nothing); everything that runs, runs in `evolcoder.exec.Sandbox`, each
distinct program once.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evolcoder.llm.prompts import parse_tests_reply
from evolcoder.exec import Job, Outcome, Sandbox
from evolcoder.llm import ChatResult
from evolcoder.verify.config import VerifyConfig, VerifyRuntime
from evolcoder.verify.extract import parse
from evolcoder.verify.language import classify
from evolcoder.verify.teacher import AssertWriter, interface_of

ASSERTS_CHECK = "evolcoder.verify.asserts:run_asserts"


@dataclass(frozen=True)
class Answer:
    """One row to label: a seed row (round 0, method "seed") or an evolved one."""

    id: str
    round: int
    method: str
    instruction: str
    input: str
    output: str

    @property
    def task(self) -> str:
        return self.instruction if not self.input else f"{self.instruction}\n{self.input}"


@dataclass(frozen=True)
class Label:
    """`verified` (one of LABELS) and `detail`: what was checked, what failed, why skipped."""

    verified: str
    detail: dict[str, Any]


NOTHING_TO_TEST = Label("skipped", {"reason": "nothing to test: it defines no function, class or name"})


def verify_answers(answers: Sequence[Answer], config: VerifyConfig, runtime: VerifyRuntime,
                   teacher: AssertWriter | None = None) -> list[Label]:
    """A label per answer, in order (see the module docstring); `teacher` is needed in `tests` mode."""
    if config.mode == "none":
        return [Label("skipped", {"reason": "verify.mode is none"})] * len(answers)
    labels: dict[int, Label] = {}
    codes: dict[int, str] = {}
    for i, answer in enumerate(answers):
        found = classify(answer.instruction, answer.output)
        if found.kind != "python":
            language = {"language": found.language} if found.language else {}
            labels[i] = Label(found.kind, {"evidence": found.evidence, **language})
        elif (error := compile_error(found.code)) is not None:
            labels[i] = Label("failed", {"mode": config.mode, "compiles": False, "error": error})
        elif config.mode == "compile":
            labels[i] = Label("passed", {"mode": "compile"})
        else:
            codes[i] = found.code
    if config.mode == "run":
        labels.update(run_in_sandbox({i: Job(code) for i, code in codes.items()}, config, runtime))
    elif config.mode == "tests":
        if teacher is None:
            raise ValueError("verify.mode tests needs an AssertWriter (the teacher)")
        labels.update(_tested(answers, codes, config, runtime, teacher))
    return [labels[i] for i in range(len(answers))]


def compile_error(code: str) -> str | None:
    """Why `code` does not compile ("SyntaxError: invalid syntax (line 3)"), or None."""
    tree = parse(code)  # compiling the tree skips parsing again; the source tells a parse error
    try:
        with warnings.catch_warnings():  # `x is 1`, invalid escapes: warnings, not errors
            warnings.simplefilter("ignore")
            compile(code if tree is None else tree, "<answer>", "exec", dont_inherit=True)
    except SyntaxError as e:
        return f"{type(e).__name__}: {e.msg} (line {e.lineno})"
    except (ValueError, RecursionError, MemoryError, OverflowError) as e:
        return f"{type(e).__name__}: {e}"
    return None


def run_in_sandbox(jobs: dict[int, Job], config: VerifyConfig, runtime: VerifyRuntime) -> dict[int, Label]:
    """Run each distinct job once, in a sandbox with `config`'s limits; a label per job."""
    if not jobs:
        return {}
    distinct: dict[str, Job] = {}
    for job in jobs.values():
        distinct.setdefault(_job_key(job), job)
    with Sandbox(workers=runtime.workers, limits=config.limits()) as sandbox:
        outcomes = dict(zip(distinct, sandbox.run(list(distinct.values()), progress=True, desc="verify")))
    return {i: outcome_label(outcomes[_job_key(job)], job, config) for i, job in jobs.items()}


def outcome_label(outcome: Outcome, job: Job, config: VerifyConfig) -> Label:
    """The label of one sandbox run: its verdict, the output's size and the tests' failures."""
    detail: dict[str, Any] = {"mode": config.mode}
    tests = job.check_args.get("tests")
    if tests is not None:
        detail["tests"] = tests
    if outcome.verdict == "timeout":
        return Label("timeout", {**detail, "error": outcome.detail})
    if outcome.verdict != "passed":  # failed, or error: killed by a signal, os._exit, a lost worker
        return Label("failed", {**detail, "error": outcome.detail})
    printed = max(len(outcome.stdout.encode()), len(outcome.stderr.encode()))
    if printed > config.max_output_bytes:
        error = f"printed more than verify.max_output_kb={config.max_output_kb} KiB"
        return Label("failed", {**detail, "error": error})
    if tests is None:
        return Label("passed", detail)
    if outcome.data["failed"]:
        every = outcome.data["failed"] == outcome.data["statements"]
        return Label("failed", {**detail, **outcome.data, "every_statement_failed": every})
    return Label("passed", {**detail, "statements": outcome.data["statements"]})


def _tested(answers: Sequence[Answer], codes: dict[int, str], config: VerifyConfig, runtime: VerifyRuntime,
            teacher: AssertWriter) -> dict[int, Label]:
    """`tests` mode for the answers whose code compiles: a teacher call each, then a run."""
    interfaces = {i: interface_of(parse(code)) for i, code in codes.items()}
    labels = {i: NOTHING_TO_TEST for i, interface in interfaces.items() if not interface}
    asked = [i for i in codes if interfaces[i]]
    results = dict(zip(asked, teacher.write([(answers[i].id, answers[i].round, answers[i].task, interfaces[i])
                                             for i in asked])))
    jobs = {}
    for i, result in results.items():
        job_or_label = _tests_job(codes[i], result)
        if isinstance(job_or_label, Job):
            jobs[i] = job_or_label
        else:
            labels[i] = job_or_label
    for i, label in run_in_sandbox(jobs, config, runtime).items():
        labels[i] = Label(label.verified, {**label.detail, "tests_call": results[i].key})
    return labels


def _tests_job(code: str, result: ChatResult) -> Job | Label:
    """The run of `code` with the teacher's tests, or why the answer is skipped."""
    if not result.ok:
        return Label("skipped", {"reason": "the tests call failed", "tests_call": result.key, "error": result.error})
    reply = parse_tests_reply(result.text or "")
    if reply.error:
        return Label("skipped", {"reason": "unusable tests", "tests_call": result.key,
                                 "tests_error": reply.error, "tests": reply.code})
    return Job(code, check=ASSERTS_CHECK, check_args={"tests": reply.code})


def _job_key(job: Job) -> str:
    return json.dumps([job.code, job.check, job.check_args], sort_keys=True)
