"""The `evolcoder` command: one subcommand per capability usable outside DVC.

Each subcommand lives in its own module exposing `add_arguments(parser)` and `run(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from evolcoder.errors import EvolcoderError

SUBCOMMANDS = {
    "evolve": ("evolcoder.evolve.cli", "run the Evol-Instruct rounds, or --estimate their calls, tokens and USD"),
    "generate": ("evolcoder.generate.cli", "generate a benchmark's samples, all shards or one (--shard i/N), or merge"),
    "evaluate": ("evolcoder.evaluate.cli", "score a samples file on HumanEval(+)/MBPP(+) in the sandbox: pass@k"),
    "infer": ("evolcoder.infer.cli", "answer a file of instructions with a checkpoint, as WizardCoder's inference script"),
    "compare": ("evolcoder.compare.cli", "list the tasks whose verdict differs between two evaluation results"),
    "profile": ("evolcoder.profile.cli", "print the params a profile composes to, as `dvc exp run -S profile=NAME` writes them"),
    "plots-template": ("evolcoder.report.cli", "write an HTML template with which `dvc plots show` draws offline"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evolcoder", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module = importlib.import_module(SUBCOMMANDS[args.command][0])
    try:
        return module.run(args)
    except EvolcoderError as e:
        print(f"evolcoder {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
