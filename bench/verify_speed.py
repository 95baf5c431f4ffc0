"""Verification throughput in `run` mode on the Code Alpaca 2k sample (target: 200 answers/s on
2 cores), and what share of Code Alpaca's answers parse, run, and are not Python.

Ours is the verify stage's path: every answer classified, the Python ones compiled, the
distinct programs run in one sandbox batch with a worker per core. The peer is the plain loop
a script would write around the same sandbox: one answer at a time, each run waited for before
the next. Both must give every answer the same label, timeouts aside (a loaded machine may
push a slow answer over the limit in one run and not the other).

    python -m bench.verify_speed [--workers N] [--timeout-s S] [--data PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections import Counter
from pathlib import Path

from evolcoder.exec import Job, Sandbox
from evolcoder.verify.config import VerifyConfig, VerifyRuntime
from evolcoder.verify.language import classify
from evolcoder.verify.verify import Answer, Label, compile_error, outcome_label, verify_answers
from tests.support.data import SHARED_DATA

DATA = SHARED_DATA / "code_alpaca_2k.json"
TARGET = 200.0


def load(path: Path) -> list[Answer]:
    if not path.is_file():
        raise SystemExit(f"{path} is absent: the Code Alpaca 2k sample lives in ../shared/data (or pass --data)")
    rows = json.loads(path.read_text())
    return [Answer(str(i), 0, "seed", r["instruction"], r["input"], r["output"]) for i, r in enumerate(rows)]


def cpu_seconds() -> tuple[float, float]:
    """CPU time (user + system) of this process and of its waited-for children (the sandbox
    workers, which wait for their samples)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def one_at_a_time(answers: list[Answer], config: VerifyConfig) -> list[str]:
    """The peer: classify, compile and run each answer before looking at the next."""
    verdicts = []
    with Sandbox(workers=1, limits=config.limits()) as sandbox:
        for answer in answers:
            found = classify(answer.instruction, answer.output)
            if found.kind != "python":
                verdicts.append(found.kind)
            elif compile_error(found.code) is not None:
                verdicts.append("failed")
            else:
                job = Job(found.code)
                verdicts.append(outcome_label(sandbox.run([job])[0], job, config).verified)
    return verdicts


def shares(answers: list[Answer], labels: list[Label]) -> str:
    n = len(answers)
    counts = Counter(label.verified for label in labels)
    python = n - counts["not_python"] - counts["no_code"]
    parse = python - sum(label.detail.get("compiles") is False for label in labels)
    pct = lambda k: f"{100 * k / n:.1f}%"  # noqa: E731
    return (f"of {n} answers: Python {python} ({pct(python)}), of which {parse} parse ({pct(parse)}) and "
            f"{counts['passed']} run without raising ({pct(counts['passed'])}), {counts['failed']} fail, "
            f"{counts['timeout']} time out; not Python {counts['not_python']} ({pct(counts['not_python'])}); "
            f"no code {counts['no_code']} ({pct(counts['no_code'])})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--timeout-s", type=float, default=VerifyConfig.timeout_s)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    answers = load(args.data)
    config = VerifyConfig(mode="run", timeout_s=args.timeout_s)

    start, cpu_before = time.perf_counter(), cpu_seconds()
    labels = verify_answers(answers, config, VerifyRuntime(workers=args.workers))
    ours = len(answers) / (time.perf_counter() - start)
    cpu = [after - before for after, before in zip(cpu_seconds(), cpu_before)]
    start = time.perf_counter()
    peer = one_at_a_time(answers, config)
    theirs = len(answers) / (time.perf_counter() - start)

    disagree = [a.id for a, label, other in zip(answers, labels, peer)
                if label.verified != other and "timeout" not in (label.verified, other)]
    assert not disagree, f"the two harnesses disagree on answers {disagree[:10]}"
    print(f"verify run mode, {len(answers)} Code Alpaca answers, {args.workers} workers, "
          f"timeout {args.timeout_s:g}s, {len(os.sched_getaffinity(0))} cores")
    print(f"  ours (one batch):        {ours:7.1f} answers/s  (target {TARGET:.0f}: "
          f"{'met' if ours >= TARGET else 'NOT met'})")
    print(f"  peer (one at a time):    {theirs:7.1f} answers/s  -> ours is {ours / theirs:.1f}x")
    busy = cpu[0] + cpu[1] / args.workers  # classifying runs alone, the sandbox on every worker
    print(f"  ours used {cpu[0]:.2f} CPU s in this process and {cpu[1]:.2f} in the sandbox: on idle cores "
          f"that is {busy:.1f} s of wall clock, {len(answers) / busy:.0f} answers/s (an estimate; the "
          f"figure above is measured, under whatever else this machine runs)")
    print(f"  {shares(answers, labels)}")


if __name__ == "__main__":
    main()
