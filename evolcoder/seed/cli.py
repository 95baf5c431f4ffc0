"""`evolcoder seed`: the seed stage outside DVC, as `dvc repro seed` runs it."""

from __future__ import annotations

import argparse

from evolcoder.config import add_params_option
from evolcoder.seed import stage


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_params_option(parser)


def run(args: argparse.Namespace) -> int:
    print(stage.run(args.params))
    return 0
