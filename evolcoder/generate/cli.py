"""`evolcoder generate`: a benchmark's generations, whole or one shard at a time.

    evolcoder generate humaneval                # every shard, then the merge (what DVC runs)
    evolcoder generate humaneval --shard 2/8    # one shard, e.g. on its own node
    evolcoder generate humaneval --merge        # merge the shard files of all N shards

Shard runs on separate nodes share the work folder (a shared file system, or copy the
shard files into it before `--merge`). Every node must use the same params file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from evolcoder.config import load_section
from evolcoder.benchmarks import Problem, load_enabled_benchmark
from evolcoder.errors import EvolcoderError
from evolcoder.generate.config import GenerateConfig
from evolcoder.generate.runner import PLAN_FILE, generate_benchmark, make_jobs, merge_with_meta, prepare_work_dir, run_shard
from evolcoder.generate.shards import parse_shard

GENERATIONS_DIR = Path("data/generations")


def output_path(benchmark: str) -> Path:
    return GENERATIONS_DIR / f"{benchmark}.jsonl"


def work_dir(benchmark: str) -> Path:
    """Shard files and resume state; ignored by git, not a DVC output."""
    return GENERATIONS_DIR / ".work" / benchmark


def load_inputs(params: str | Path, benchmark: str) -> tuple[GenerateConfig, list[Problem]]:
    """The `generate` section and the problems of an enabled benchmark."""
    config = load_section(params, "generate", GenerateConfig)
    return config, load_enabled_benchmark(params, benchmark)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("benchmark", help="an enabled benchmark of the params file, e.g. humaneval")
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--shard", metavar="i/N", help="run only shard i of N (0-based)")
    mode.add_argument("--merge", action="store_true", help="only merge the shard files into the output")


def run(args: argparse.Namespace) -> int:
    config, problems = load_inputs(args.params, args.benchmark)
    out, work = output_path(args.benchmark), work_dir(args.benchmark)
    if args.shard:
        index, total = parse_shard(args.shard)
        config = dataclasses.replace(config, num_shards=total)
        jobs = make_jobs(args.benchmark, problems, config.tabs, config.prompt)
        prepare_work_dir(work, config, jobs)
        n = run_shard(config, jobs, index, total, work, label=args.benchmark)
        print(f"generate: shard {args.shard} of {args.benchmark}: {n} tasks generated now -> {work}")
    elif args.merge:
        plan = work / PLAN_FILE
        if not plan.is_file():
            raise EvolcoderError(f"{plan} not found: run the shards (evolcoder generate {args.benchmark} --shard i/N) first")
        total = json.loads(plan.read_text())["num_shards"]
        task_ids = [p.task_id for p in problems]
        n = merge_with_meta(config, args.benchmark, task_ids, work, total, out)
        print(f"generate: merged {n} rows from {total} shards -> {out}")
    else:
        summary = generate_benchmark(config, args.benchmark, problems, out, work)
        print(f"generate: {summary['rows']} rows ({summary['n_tasks']} tasks x {summary['n_samples']}) -> {out}")
    return 0
