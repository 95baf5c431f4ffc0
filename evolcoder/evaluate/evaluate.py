"""Score samples of a benchmark: build each sample's jobs, run them in the sandbox, compute pass@k.

A HumanEval or MBPP sample is one job, its program and the benchmark's tests; an EvalPlus
sample is one job per input set (base, plus), each in a fresh process as EvalPlus runs them.
Time limits are CPU time (see `EvaluateConfig`), so verdicts do not move with the machine's
load. Outcomes come from the results cache where the same job ran before; the rest run in
one `Sandbox` pool. EvalPlus benchmarks first load (or compute) the expected outputs.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from evolcoder.benchmarks import Problem, spec_of
from evolcoder.errors import EvolcoderError
from evolcoder.exec import Job, Limits, Outcome, Sandbox
from evolcoder.evaluate.cache import ResultsCache, job_key
from evolcoder.evaluate.config import EvaluateConfig, EvaluateRuntime
from evolcoder.evaluate.oracles import COMPARE_CHECK, pack
from evolcoder.evaluate.passk import pass_at_k
from evolcoder.evaluate.programs import candidate_program, test_job
from evolcoder.evaluate.references import INPUT_SETS, Reference, load_references, problem_inputs
from evolcoder.evaluate.samples import Sample, check_coverage

# Expected outputs of an input set up to this size travel with each job; larger ones are
# read by the sample's check from the reference file (Mbpp/255's come to 360 MB).
INLINE_OUTPUT_BYTES = 16 << 20


@dataclass
class Evaluation:
    """Per-sample result rows (in the samples' order) and the flat metrics."""

    rows: list[dict[str, Any]]
    metrics: dict[str, Any]
    isolation: str


@dataclass(frozen=True)
class _SetPlan:
    """How one EvalPlus input set of a task runs: the check's arguments and the job's limits."""

    check_args: dict[str, str]
    limits: Limits


def evaluate(
    problems: list[Problem],
    samples: list[Sample],
    config: EvaluateConfig,
    runtime: EvaluateRuntime,
    allow_partial: bool = False,
) -> Evaluation:
    """Run every sample against its problem and score them."""
    samples = check_coverage(samples, problems, allow_partial)
    by_id = {p.task_id: p for p in problems}
    programs = [candidate_program(by_id[s.task_id], s) for s in samples]
    inputs = _evalplus_inputs(problems, samples)
    plans = _set_plans(by_id, inputs, _references(by_id, inputs, runtime, config.reference_timeout_s), config)
    jobs = [_jobs(by_id[s.task_id], code, plans, config) for s, code in zip(samples, programs)]
    cache_file = runtime.cache_path / "results.sqlite" if runtime.cache else None
    with ResultsCache(cache_file) as cache:
        outcomes, isolation = run_cached([job for js in jobs for job in js], cache, config, runtime)
    rows, position = [], 0
    for sample, code, js in zip(samples, programs, jobs):
        problem = by_id[sample.task_id]
        rows.append(_row(problem, sample, code, outcomes[position : position + len(js)], inputs))
        position += len(js)
    return Evaluation(rows, score(rows, config.ks), isolation)


def run_cached(jobs: list[Job], cache: ResultsCache, config: EvaluateConfig,
               runtime: EvaluateRuntime) -> tuple[list[Outcome], str]:
    """Outcomes of `jobs` in order, cached ones looked up, the others run in a sandbox and
    stored; and the sandbox's isolation level ('none: all outcomes cached' if none ran)."""
    if not cache.enabled:
        return _run(jobs, config, runtime)
    keys = [job_key(j) for j in jobs]
    known = cache.get(sorted(set(keys)))
    todo = {k: j for k, j in zip(keys, jobs) if k not in known}
    if known:
        tqdm.write(f"{len(jobs) - sum(k in todo for k in keys)} of {len(jobs)} outcome(s) from the cache", file=sys.stderr)
    if not todo:
        return [known[k] for k in keys], "none: all outcomes cached"
    outcomes, isolation = _run(list(todo.values()), config, runtime)
    fresh = dict(zip(todo, outcomes))
    cache.put(list(fresh.items()))
    return [known.get(k) or fresh[k] for k in keys], isolation


def _run(jobs: list[Job], config: EvaluateConfig, runtime: EvaluateRuntime) -> tuple[list[Outcome], str]:
    with Sandbox(workers=runtime.n_workers, limits=config.limits(config.timeout_s)) as sandbox:
        return sandbox.run(jobs, progress=True), sandbox.isolation


def score(rows: list[dict[str, Any]], ks: list[int]) -> dict[str, Any]:
    """Flat metrics: pass@k per k <= the fewest samples of a task, plus_pass@k for EvalPlus."""
    tasks: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        tasks[row["task_id"]].append(row)
    has_plus = all("plus_passed" in row for row in rows)
    base_key = "base_passed" if has_plus else "passed"
    metrics: dict[str, Any] = pass_at_k([(len(r), sum(x[base_key] for x in r)) for r in tasks.values()], ks)
    if has_plus:
        plus = pass_at_k([(len(r), sum(x["passed"] for x in r)) for r in tasks.values()], ks)
        metrics.update({f"plus_{k}": v for k, v in plus.items()})
    metrics["n_tasks"] = len(tasks)
    metrics["n_samples"] = len(rows)
    return metrics


def _evalplus_inputs(problems: list[Problem], samples: list[Sample]) -> dict[str, dict[str, list]]:
    """Decoded base and plus inputs of each EvalPlus task that has samples."""
    wanted = {s.task_id for s in samples}
    return {p.task_id: problem_inputs(p) for p in problems if spec_of(p).compares_outputs and p.task_id in wanted}


def _references(by_id: dict[str, Problem], inputs: dict[str, dict], runtime: EvaluateRuntime,
                timeout_s: float) -> dict[str, Reference]:
    if not inputs:
        return {}
    problems = [by_id[task_id] for task_id in inputs]
    return load_references(problems, runtime.cache_path, runtime.n_workers, timeout_s)


def _set_plans(by_id: dict[str, Problem], inputs: dict[str, dict], references: dict[str, Reference],
               config: EvaluateConfig) -> dict[str, list[_SetPlan]]:
    """Per EvalPlus task, one plan per input set, with EvalPlus's limits as CPU time.

    Each input may take max(min_time_limit_s, time_limit_factor x the reference's CPU time);
    the set's process, like EvalPlus's, min(max_set_time_s, the sum of those) + 2 s (its
    process time-out plus the second it waits on the join).
    """
    plans = {}
    for task_id, ref in references.items():
        problem = by_id[task_id]
        plans[task_id] = []
        for name in INPUT_SETS:
            limits = [max(config.min_time_limit_s, config.time_limit_factor * t) for t in ref.seconds[name]]
            case = {"dataset": spec_of(problem).oracles, "entry_point": problem.entry_point, "atol": problem.atol,
                    "inputs": inputs[task_id][name], "time_limits": limits,
                    "wall_factor": config.wall_backstop_factor, **_expected(ref, name)}
            budget = min(config.max_set_time_s, sum(limits)) + 2
            plans[task_id].append(_SetPlan({"payload": pack(case)}, config.limits(budget)))
    return plans


def _expected(ref: Reference, name: str) -> dict[str, Any]:
    """Expected outputs inline, or where the sample's check reads them when they are huge."""
    if sum(size for _, size in ref.offsets[name]) <= INLINE_OUTPUT_BYTES:
        return {"expected": ref.outputs(name)}
    if ref.outputs_file.resolve().is_relative_to("/tmp"):
        raise EvolcoderError(
            f"{ref.outputs_file}: samples cannot read expected outputs under /tmp, which the "
            "sandbox replaces with a private tmpfs; set runtime.evaluate.cache_dir outside /tmp"
        )
    return {"expected_file": str(ref.outputs_file.resolve()), "offsets": ref.offsets[name], "digest": ref.digest}


def _jobs(problem: Problem, code: str, plans: dict[str, list[_SetPlan]], config: EvaluateConfig) -> list[Job]:
    if not spec_of(problem).compares_outputs:
        program, test = test_job(problem, code)
        return [Job(code=program, test=test, limits=config.limits(config.timeout_s))]
    return [Job(code=code, check=COMPARE_CHECK, check_args=plan.check_args, limits=plan.limits)
            for plan in plans[problem.task_id]]


def _row(problem: Problem, sample: Sample, code: str, outcomes: list[Outcome],
         inputs: dict[str, dict]) -> dict[str, Any]:
    row: dict[str, Any] = {"task_id": sample.task_id, "sample": sample.sample}
    if spec_of(problem).compares_outputs:
        row.update(_evalplus_verdict(problem, outcomes, inputs[problem.task_id]))
    else:
        (outcome,) = outcomes
        row.update(passed=outcome.passed, verdict=outcome.verdict, detail=outcome.detail)
    row["code"] = code
    row.update({k: v for k, v in sample.extra.items() if k not in row})
    return row


def _evalplus_verdict(problem: Problem, outcomes: list[Outcome], inputs: dict[str, list]) -> dict[str, Any]:
    """Our verdict and EvalPlus's fields: each set's status ("pass", "fail", or "timeout" when
    its process ran out of time or died, as EvalPlus reports both) and the input that
    failed first; plus counts only where base passed too."""
    fields: dict[str, Any] = {}
    verdict, details = "passed", []
    for name, outcome in zip(INPUT_SETS, outcomes):
        status, index, why = _set_status(outcome)
        failed = [inputs[name][index]] if index is not None else []
        fields[f"{name}_status"] = status
        fields[f"{name}_fail_tests"] = spec_of(problem).serialize_inputs(problem, failed)
        if status != "pass":
            if verdict == "passed":
                verdict = outcome.verdict if outcome.verdict != "passed" else "failed"
            details.append(f"{name} input {index}: {why}" if index is not None else f"{name}: {why}")
    base = fields["base_status"] == "pass"
    plus = base and fields["plus_status"] == "pass"
    return {"passed": plus, "verdict": verdict, "detail": "; ".join(details),
            "base_passed": base, "plus_passed": plus, **fields}


def _set_status(outcome: Outcome) -> tuple[str, int | None, str]:
    """(EvalPlus's status, index of the input that failed or None, why) of one set's job."""
    if outcome.passed:
        return outcome.data["status"], outcome.data["input"], outcome.data["error"]
    if outcome.verdict == "failed":  # the program raised before any input: EvalPlus's exec failed
        return "fail", None, outcome.detail
    return "timeout", None, outcome.detail


class ReferenceCheckFailed(EvolcoderError):
    """Canonical solutions failed their own benchmark: the environment, not a model, is broken."""


def check_references(problems: list[Problem], config: EvaluateConfig, runtime: EvaluateRuntime) -> None:
    """Score every canonical solution; raise ReferenceCheckFailed naming those that fail."""
    samples = [Sample(p.task_id, 0, "solution", p.reference) for p in problems]
    failed = [r for r in evaluate(problems, samples, config, runtime).rows if not r["passed"]]
    if failed:
        names = "; ".join(f"{r['task_id']} ({r['verdict']}: {r['detail'][:200]})" for r in failed[:10])
        raise ReferenceCheckFailed(
            f"{len(failed)} canonical solution(s) do not pass: {names}"
            + (f" and {len(failed) - 10} more" if len(failed) > 10 else "")
            + ". Fix the environment (missing packages, limits too tight: evaluate.timeout_s,"
            " evaluate.memory_mb) before trusting any score."
        )
