"""`evolcoder compare A B`: the tasks whose verdict differs between two evaluation results.

    evolcoder compare data/eval/humaneval.jsonl HEAD~1:data/eval/humaneval.jsonl
    evolcoder compare exp-a1b2c:data/eval/humaneval.jsonl data/eval/humaneval.jsonl
    evolcoder compare ours/results.jsonl theirs/results.jsonl

Each side is a results file (data/eval/<bench>.jsonl, results.jsonl of `evolcoder evaluate
--out`, or any JSONL with task_id and passed per sample) or REV:path, the file at a git
revision or DVC experiment. With several samples per task, a task's figure is its pass fraction.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", metavar="A", help="results file, or REV:path (git revision or DVC experiment)")
    parser.add_argument("b", metavar="B", help="the other results, the same way")


def run(args: argparse.Namespace) -> int:
    # Imported here so that `evolcoder --help` does not load pandas.
    from evolcoder.compare.compare import compare, render
    from evolcoder.compare.results import load_results

    print(render(compare(load_results(args.a), load_results(args.b))))
    return 0
