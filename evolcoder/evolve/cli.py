"""`evolcoder evolve`: the evolve stage outside DVC, or (`--estimate`) what it would cost.

    evolcoder evolve --estimate     # calls, tokens and USD per round and in total; sends nothing
    evolcoder evolve                # the evolve stage, as `dvc repro evolve` runs it
"""

from __future__ import annotations

import argparse
from pathlib import Path

from evolcoder.config import add_params_option
from evolcoder.evolve import stage
from evolcoder.files.paths import EvolveFiles


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = EvolveFiles()
    add_params_option(parser)
    parser.add_argument("--seed", type=Path, default=defaults.seed, help=f"seed records (default: {defaults.seed})")
    parser.add_argument("--ledger", type=Path, default=defaults.ledger,
                        help=f"the call ledger folder (default: {defaults.ledger})")
    parser.add_argument("--estimate", action="store_true",
                        help="print the calls, tokens and USD per round and in total, and send nothing")


def run(args: argparse.Namespace) -> int:
    files = EvolveFiles(seed=args.seed, ledger=args.ledger)
    print(stage.estimate(args.params, files) if args.estimate else stage.run(args.params, files))
    return 0
