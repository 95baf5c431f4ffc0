"""`evolcoder train`: the train stage outside DVC, as `dvc repro train` runs it; `--clean` removes
the run folders no longer needed."""

from __future__ import annotations

import argparse

from evolcoder.config import add_params_option
from evolcoder.train import stage


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_params_option(parser)
    parser.add_argument("--clean", action="store_true",
                        help="remove the run folders under runtime.train.work_dir that no run needs, and train nothing")
    parser.add_argument("--dry-run", action="store_true", help="with --clean: say what it would remove")


def run(args: argparse.Namespace) -> int:
    print(stage.clean(args.params, args.dry_run) if args.clean else stage.run(args.params))
    return 0
