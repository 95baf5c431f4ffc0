"""`evolcoder train`: the train stage outside DVC, as `dvc repro train` runs it."""

from __future__ import annotations

import argparse

from evolcoder.config import add_params_option
from evolcoder.train import stage


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_params_option(parser)


def run(args: argparse.Namespace) -> int:
    print(stage.run(args.params))
    return 0
