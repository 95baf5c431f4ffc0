"""`evolcoder fetch <name>`: one entry of the `fetch` params, as `dvc repro fetch@<name>` runs it."""

from __future__ import annotations

import argparse

from evolcoder.config import add_params_option
from evolcoder.fetch import stage


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="a key of the params file's fetch section, e.g. humaneval")
    add_params_option(parser)


def run(args: argparse.Namespace) -> int:
    print(stage.run(args.params, args.name))
    return 0
