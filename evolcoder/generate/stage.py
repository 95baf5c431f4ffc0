"""The generate stage: every task x sample of an enabled benchmark, all shards then the merge
(`python -m stages.generate <bench>`, `evolcoder generate <bench>`), or one shard or the merge
alone (`evolcoder generate <bench> --shard i/N | --merge`) for runs spread over nodes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from evolcoder.benchmarks import Problem, load_enabled_benchmark
from evolcoder.config import load_runtime, load_section
from evolcoder.errors import EvolcoderError
from evolcoder.files.paths import GenerateFiles
from evolcoder.generate.config import GenerateConfig, GenerateRuntime
from evolcoder.generate.runner import PLAN_FILE, generate_benchmark, make_jobs, merge_with_meta, prepare_work_dir, run_shard
from evolcoder.generate.shards import parse_shard


def load_inputs(params: str | Path, benchmark: str) -> tuple[GenerateConfig, GenerateRuntime, list[Problem]]:
    """The `generate` section, its runtime knobs (read first: they refuse one written in the
    section) and the problems of an enabled benchmark."""
    runtime = load_runtime(params, "generate", GenerateRuntime)
    config = load_section(params, "generate", GenerateConfig)
    return config, runtime, load_enabled_benchmark(params, benchmark)


def run(params: str | Path, benchmark: str) -> str:
    """Run every shard and merge them into the benchmark's samples file; return what to print."""
    config, runtime, problems = load_inputs(params, benchmark)
    files = GenerateFiles.of(benchmark)
    summary = generate_benchmark(config, runtime, benchmark, problems, files.samples, files.work_dir)
    return (f"generate@{benchmark}: {summary['rows']} rows ({summary['n_tasks']} tasks x "
            f"{summary['n_samples']} samples, backend {config.backend}) -> {files.samples}")


def run_one_shard(params: str | Path, benchmark: str, shard: str) -> str:
    """Run shard `i/N` alone into the work folder, which every node must share."""
    config, runtime, problems = load_inputs(params, benchmark)
    files = GenerateFiles.of(benchmark)
    index, total = parse_shard(shard)
    runtime = dataclasses.replace(runtime, num_shards=total)
    jobs = make_jobs(benchmark, problems, config.tabs, config.prompt)
    prepare_work_dir(files.work_dir, config, runtime, jobs)
    n = run_shard(config, runtime, jobs, index, total, files.work_dir, label=benchmark)
    return f"generate: shard {shard} of {benchmark}: {n} tasks generated now -> {files.work_dir}"


def merge(params: str | Path, benchmark: str) -> str:
    """Merge the shard files of the plan in the work folder into the samples file."""
    config, _, problems = load_inputs(params, benchmark)
    files = GenerateFiles.of(benchmark)
    plan = files.work_dir / PLAN_FILE
    if not plan.is_file():
        raise EvolcoderError(f"{plan} not found: run the shards (evolcoder generate {benchmark} --shard i/N) first")
    total = json.loads(plan.read_text())["num_shards"]
    n = merge_with_meta(config, benchmark, [p.task_id for p in problems], files.work_dir, total, files.samples)
    return f"generate: merged {n} rows from {total} shards -> {files.samples}"
