"""Verdicts do not move with the machine's load.

The same samples are scored twice: without other work, then beside two busy-loop processes
per core, which make every sample take several times longer by the wall clock.
Time limits are CPU time, so every verdict must be the same in the two runs: WizardCoder-15B's
real HumanEval outputs, the canonical solutions, HumanEval+ (whose per-input limits come from
the reference solution's CPU time, measured afresh in each run, under that run's load), and
slow but correct samples that use half of the 3 s budget, beside samples that need twice it.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from tests.support.data import shared_file

from evolcoder.benchmarks import load_benchmark
from evolcoder.jsonl import read_jsonl
from evolcoder.evaluate.config import EvaluateConfig, EvaluateRuntime
from evolcoder.evaluate.evaluate import evaluate
from evolcoder.benchmarks.extract import extract_code
from evolcoder.evaluate.samples import Sample
from evolcoder.templates import response_of

SPIN = "\n_n = 0\nfor _i in range({n}):\n    _n += _i % 7\n"  # module-level work after the solution
SLOW_TASKS = ("HumanEval/0", "HumanEval/1", "HumanEval/2")
HEPLUS_TASKS = 40  # HumanEval+ tasks scored, references recomputed in each run


@contextlib.contextmanager
def busy_loops(per_core: int) -> Iterator[None]:
    loops = [subprocess.Popen([sys.executable, "-c", "while True:\n    pass\n"])
             for _ in range(per_core * len(os.sched_getaffinity(0)))]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def spin_iterations_per_cpu_second() -> float:
    """How many SPIN iterations this machine does in a second of CPU time (median of five)."""
    rates = []
    for _ in range(5):
        start = time.process_time()
        exec(SPIN.format(n=300_000), {})
        rates.append(300_000 / (time.process_time() - start))
    return statistics.median(rates)


def wizardcoder_responses() -> dict[str, str]:
    """WizardCoder-15B's raw greedy HumanEval responses, by task."""
    rows = read_jsonl(shared_file("wizardcoder15b_humaneval_greedy.jsonl"))
    return {r["task_id"]: response_of(r["all_code"]) for r in rows}


def humaneval_samples(budget_s: float) -> list[Sample]:
    problems = {p.task_id: p for p in load_benchmark("humaneval")}
    samples = [Sample(t, 0, "response", response) for t, response in wizardcoder_responses().items()]
    samples += [Sample(t, 1, "completion", p.canonical_solution) for t, p in problems.items()]
    rate = spin_iterations_per_cpu_second()
    for task_id in SLOW_TASKS:
        body = problems[task_id].canonical_solution
        samples.append(Sample(task_id, 2, "completion", body + SPIN.format(n=int(0.5 * budget_s * rate))))
        samples.append(Sample(task_id, 3, "completion", body + SPIN.format(n=int(2.0 * budget_s * rate))))
    return samples


def humanevalplus_samples(problems) -> list[Sample]:
    wizardcoder = wizardcoder_responses()
    samples = []
    for p in problems:
        samples.append(Sample(p.task_id, 0, "completion", extract_code(wizardcoder[p.task_id], "humaneval", p.entry_point)))
        samples.append(Sample(p.task_id, 1, "completion", p.canonical_solution))
    return samples


def verdicts(cache_dir, run: str, humaneval: list[Sample], heplus_problems, heplus: list[Sample]) -> dict:
    # A fresh cache folder per run: HumanEval+'s reference CPU times are measured under this run's load.
    config, runtime = EvaluateConfig(), EvaluateRuntime(workers=2, cache=False, cache_dir=str(cache_dir / run))
    he = evaluate(load_benchmark("humaneval"), humaneval, config, runtime)
    plus = evaluate(heplus_problems, heplus, config, runtime)
    return {"humaneval": [(r["task_id"], r["sample"], r["verdict"]) for r in he.rows],
            "humanevalplus": [(r["task_id"], r["sample"], r["base_status"], r["plus_status"]) for r in plus.rows],
            "wizardcoder_pass@1": sum(r["passed"] for r in he.rows if r["sample"] == 0)}


@pytest.mark.slow
def test_verdicts_are_the_same_idle_and_beside_two_busy_loops_per_core(cache_dir):
    budget = EvaluateConfig().timeout_s
    humaneval = humaneval_samples(budget)
    heplus_problems = load_benchmark("humanevalplus", str(shared_file("HumanEvalPlus-v0.1.10.jsonl.gz")))[:HEPLUS_TASKS]
    heplus = humanevalplus_samples(heplus_problems)

    start = time.perf_counter()
    idle = verdicts(cache_dir, "idle", humaneval, heplus_problems, heplus)
    seconds = [time.perf_counter() - start]
    with busy_loops(per_core=2):
        start = time.perf_counter()
        loaded = verdicts(cache_dir, "loaded", humaneval, heplus_problems, heplus)
        seconds.append(time.perf_counter() - start)
    print(f"\n{len(humaneval)} HumanEval and {len(heplus)} HumanEval+ samples; wall clock of the runs "
          f"(idle, loaded): {', '.join(f'{s:.0f} s' for s in seconds)}")

    changed = [(a, b) for a, b in zip(idle["humaneval"], loaded["humaneval"]) if a != b]
    changed += [(a, b) for a, b in zip(idle["humanevalplus"], loaded["humanevalplus"]) if a != b]
    assert not changed, f"verdicts that moved with the load (idle, loaded): {changed}"
    assert idle["wizardcoder_pass@1"] == 98  # its published 59.8
    slow = {(t, s): v for t, s, v in idle["humaneval"] if t in SLOW_TASKS and s >= 2}
    assert set(slow.values()) == {"passed", "timeout"} and all(
        v == ("passed" if s == 2 else "timeout") for (_, s), v in slow.items())
