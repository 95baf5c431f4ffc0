"""`evolcoder generate`: a benchmark's generations, whole or one shard at a time.

    evolcoder generate humaneval                # every shard, then the merge (what DVC runs)
    evolcoder generate humaneval --shard 2/8    # one shard, e.g. on its own node
    evolcoder generate humaneval --merge        # merge the shard files of all N shards

Shard runs on separate nodes share the work folder (a shared file system, or copy the
shard files into it before `--merge`). Every node must use the same params file.
"""

from __future__ import annotations

import argparse

from evolcoder.config import add_params_option
from evolcoder.generate import stage


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("benchmark", help="an enabled benchmark of the params file, e.g. humaneval")
    add_params_option(parser)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--shard", metavar="i/N", help="run only shard i of N (0-based)")
    mode.add_argument("--merge", action="store_true", help="only merge the shard files into the output")


def run(args: argparse.Namespace) -> int:
    if args.shard:
        print(stage.run_one_shard(args.params, args.benchmark, args.shard))
    elif args.merge:
        print(stage.merge(args.params, args.benchmark))
    else:
        print(stage.run(args.params, args.benchmark))
    return 0
