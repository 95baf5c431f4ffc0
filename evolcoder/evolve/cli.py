"""`evolcoder evolve`: the evolve stage outside DVC, or (`--estimate`) what it would cost.

    evolcoder evolve --estimate     # calls, tokens and USD per round and in total; sends nothing
    evolcoder evolve                # the evolve stage, as `dvc repro evolve` runs it
"""

from __future__ import annotations

import argparse
from pathlib import Path

from evolcoder.evolve.pipeline import EvolvePaths, estimate_run, run_evolve


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = EvolvePaths()
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    parser.add_argument("--seed", type=Path, default=defaults.seed, help=f"seed records (default: {defaults.seed})")
    parser.add_argument("--ledger", type=Path, default=defaults.ledger,
                        help=f"the call ledger folder (default: {defaults.ledger})")
    parser.add_argument("--estimate", action="store_true",
                        help="print the calls, tokens and USD per round and in total, and send nothing")


def run(args: argparse.Namespace) -> int:
    paths = EvolvePaths(seed=args.seed, ledger=args.ledger)
    print(estimate_run(args.params, paths) if args.estimate else run_evolve(args.params, paths))
    return 0
