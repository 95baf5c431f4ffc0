"""The `evolcoder` command: one subcommand per stage of the pipeline, and a few tools.

`evolcoder <stage>` runs what `dvc repro <stage>` runs, outside DVC (its outputs are not locked).

Each subcommand lives in its own module exposing `add_arguments(parser)` and `run(args) -> int`:
a stage's is `evolcoder/<stage>/cli.py`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from evolcoder.errors import EvolcoderError

SUBCOMMANDS = {
    "fetch": ("evolcoder.fetch.cli", "fetch one entry of the fetch params (a URL, a hub data set, a benchmark)"),
    "seed": ("evolcoder.seed.cli", "read, validate and dedupe the seed instructions"),
    "evolve": ("evolcoder.evolve.cli", "run the Evol-Instruct rounds, or --estimate their calls, tokens and USD"),
    "verify": ("evolcoder.verify.cli", "label every seed and evolved answer by whether its code runs"),
    "dataset": ("evolcoder.dataset.cli", "merge, filter, decontaminate and dedupe the training set"),
    "train": ("evolcoder.train.cli", "fine-tune the model with DeepSpeed (resumable)"),
    "generate": ("evolcoder.generate.cli", "generate a benchmark's samples, all shards or one (--shard i/N), or merge"),
    "evaluate": ("evolcoder.evaluate.cli", "score a benchmark's generations, or any samples file, in the sandbox: pass@k"),
    "infer": ("evolcoder.infer.cli", "answer a file of instructions with a checkpoint, as WizardCoder's inference script"),
    "compare": ("evolcoder.compare.cli", "list the tasks whose verdict differs between two evaluation results"),
    "profile": ("evolcoder.profile.cli", "print the params a profile composes to, as `dvc exp run -S profile=NAME` writes them"),
    "report": ("evolcoder.report.cli", "write the report: the benchmark table, its charts and plot files"),
    "plots-template": ("evolcoder.plots.cli",
                       "write an HTML template with which `dvc plots show` draws offline"),
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
