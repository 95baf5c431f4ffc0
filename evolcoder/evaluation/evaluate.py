"""Score samples of a benchmark: build each sample's job, run it in the sandbox, compute pass@k.

Outcomes come from the results cache where the same job ran before; the rest run in one
`Sandbox` pool. EvalPlus benchmarks first load (or compute) the expected outputs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from evolcoder.benchmarks import Problem, spec_of
from evolcoder.errors import EvolcoderError
from evolcoder.exec import Job, Limits, Outcome, Sandbox
from evolcoder.evaluation.cache import ResultsCache, job_key
from evolcoder.evaluation.config import EvaluateConfig
from evolcoder.evaluation.oracles import COMPARE_CHECK, pack
from evolcoder.evaluation.passk import pass_at_k
from evolcoder.evaluation.programs import candidate_program, test_program
from evolcoder.evaluation.references import (
    INPUT_SETS,
    Reference,
    load_references,
    problem_inputs,
)
from evolcoder.evaluation.samples import Sample, check_coverage

# Expected outputs of an input set up to this size travel with each job; larger ones are
# read by the sample's check from the reference file (MBPP+ has one task of 1 GB).
INLINE_OUTPUT_BYTES = 16 << 20


@dataclass
class Evaluation:
    """Per-sample result rows (in the samples' order) and the flat metrics."""

    rows: list[dict[str, Any]]
    metrics: dict[str, Any]
    isolation: str


def evaluate(
    problems: list[Problem],
    samples: list[Sample],
    config: EvaluateConfig,
    allow_partial: bool = False,
) -> Evaluation:
    """Run every sample against its problem and score them."""
    samples = check_coverage(samples, problems, allow_partial)
    by_id = {p.task_id: p for p in problems}
    programs = [candidate_program(by_id[s.task_id], s) for s in samples]
    cache_file = config.cache_path / "results.sqlite" if config.cache else None
    payloads = _payloads(by_id, _references(problems, samples, config), config)
    jobs = [_job(by_id[s.task_id], code, payloads, config) for s, code in zip(samples, programs)]
    with ResultsCache(cache_file) as cache:
        outcomes, isolation = run_cached(jobs, cache, config)
    rows = [_row(by_id[s.task_id], s, code, o) for s, code, o in zip(samples, programs, outcomes)]
    return Evaluation(rows, score(rows, config.ks), isolation)


def run_cached(jobs: list[Job], cache: ResultsCache, config: EvaluateConfig) -> tuple[list[Outcome], str]:
    """Outcomes of `jobs` in order, cached ones looked up, the others run in a sandbox and
    stored; and the sandbox's isolation level ('none: all outcomes cached' if none ran)."""
    keys = [job_key(j) for j in jobs]
    known = cache.get(sorted(set(keys)))
    todo = {k: j for k, j in zip(keys, jobs) if k not in known}
    if known:
        tqdm.write(f"{len(jobs) - sum(k in todo for k in keys)} of {len(jobs)} outcome(s) from the cache")
    if not todo:
        return [known[k] for k in keys], "none: all outcomes cached"
    with Sandbox(workers=config.n_workers, limits=_limits(config, config.timeout_s)) as sandbox:
        fresh = dict(zip(todo, sandbox.run(list(todo.values()), progress=True)))
        isolation = sandbox.isolation
    cache.put(list(fresh.items()))
    return [known.get(k) or fresh[k] for k in keys], isolation


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


def _limits(config: EvaluateConfig, wall_s: float) -> Limits:
    return Limits(wall_s=wall_s, memory_mb=config.memory_mb)


def _references(problems: list[Problem], samples: list[Sample], config: EvaluateConfig) -> dict[str, Reference]:
    wanted = {s.task_id for s in samples}
    evalplus = [p for p in problems if spec_of(p).compares_outputs and p.task_id in wanted]
    if not evalplus:
        return {}
    return load_references(evalplus, config.cache_path, config.n_workers, config.reference_timeout_s)


def _payloads(by_id: dict[str, Problem], references: dict[str, Reference], config: EvaluateConfig) -> dict:
    """Per EvalPlus task: the packed check arguments and the job's wall-clock limit."""
    payloads = {}
    for task_id, ref in references.items():
        problem = by_id[task_id]
        inputs = problem_inputs(problem)
        sets, wall = {}, 1.0
        for name in INPUT_SETS:
            limits = [max(config.min_time_limit_s, config.time_limit_factor * t) for t in ref.seconds[name]]
            # EvalPlus runs each input set in a process of its own for min(60 s, sum of limits) + 1 s.
            set_limit = min(config.max_set_time_s, sum(limits)) + 1
            sets[name] = {"inputs": inputs[name], "time_limits": limits, "set_limit": set_limit, **_expected(ref, name)}
            wall += set_limit + 1
        spec = {"dataset": spec_of(problem).oracles, "entry_point": problem.entry_point,
                "atol": problem.atol, "sets": sets}
        payloads[task_id] = ({"payload": pack(spec)}, wall)
    return payloads


def _expected(ref: Reference, name: str) -> dict[str, Any]:
    """Expected outputs inline, or where the sample's check reads them when they are huge."""
    if sum(size for _, size in ref.offsets[name]) <= INLINE_OUTPUT_BYTES:
        return {"expected": ref.outputs(name)}
    if ref.outputs_file.resolve().is_relative_to("/tmp"):
        raise EvolcoderError(
            f"{ref.outputs_file}: samples cannot read expected outputs under /tmp, which the "
            "sandbox replaces with a private tmpfs; set evaluate.cache_dir outside /tmp"
        )
    return {"expected_file": str(ref.outputs_file.resolve()), "offsets": ref.offsets[name], "digest": ref.digest}


def _job(problem: Problem, code: str, payloads: dict, config: EvaluateConfig) -> Job:
    if not spec_of(problem).compares_outputs:
        return Job(code=test_program(problem, code), limits=_limits(config, config.timeout_s))
    check_args, wall = payloads[problem.task_id]
    return Job(code=code, check=COMPARE_CHECK, check_args=check_args, limits=_limits(config, wall))


def _row(problem: Problem, sample: Sample, code: str, outcome: Outcome) -> dict[str, Any]:
    row: dict[str, Any] = {"task_id": sample.task_id, "sample": sample.sample}
    if spec_of(problem).compares_outputs:
        row.update(_evalplus_verdict(outcome))
    else:
        row.update(passed=outcome.passed, verdict=outcome.verdict, detail=outcome.detail)
    row["code"] = code
    row.update({k: v for k, v in sample.extra.items() if k not in row})
    return row


def _evalplus_verdict(outcome: Outcome) -> dict[str, Any]:
    """EvalPlus's statuses: base, and plus (counted only where base passed too)."""
    if not outcome.passed:
        return {"passed": False, "verdict": outcome.verdict, "detail": outcome.detail,
                "base_passed": False, "plus_passed": False}
    sets = outcome.data
    base, plus = (sets[name]["status"] == "pass" for name in INPUT_SETS)
    failures = [f"{name} input {s['input']}: {s['error']}" for name, s in sets.items() if s["status"] != "pass"]
    return {"passed": base and plus, "verdict": "passed" if base and plus else "failed",
            "detail": "; ".join(failures), "base_passed": base, "plus_passed": base and plus}


class ReferenceCheckFailed(EvolcoderError):
    """Canonical solutions failed their own benchmark: the environment, not a model, is broken."""


def check_references(problems: list[Problem], config: EvaluateConfig) -> None:
    """Score every canonical solution; raise ReferenceCheckFailed naming those that fail."""
    samples = [Sample(p.task_id, 0, "solution", p.reference) for p in problems]
    failed = [r for r in evaluate(problems, samples, config).rows if not r["passed"]]
    if failed:
        names = "; ".join(f"{r['task_id']} ({r['verdict']}: {r['detail'][:200]})" for r in failed[:10])
        raise ReferenceCheckFailed(
            f"{len(failed)} canonical solution(s) do not pass: {names}"
            + (f" and {len(failed) - 10} more" if len(failed) > 10 else "")
            + ". Fix the environment (missing packages, limits too tight: evaluate.timeout_s,"
            " evaluate.memory_mb) before trusting any score."
        )
