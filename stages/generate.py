"""DVC stage `generate@<bench>`: every task x sample of an enabled benchmark.

Usage: python -m stages.generate <bench>. Runs `generate.num_shards` shards in parallel and
merges them into data/generations/<bench>.jsonl; a killed run resumes from its shard files.
"""

from evolcoder.generate.cli import load_inputs, output_path, work_dir
from evolcoder.generate.runner import generate_benchmark
from stages import PARAMS_FILE, run_stage, stage_argument


def main() -> None:
    benchmark = stage_argument("generate")
    config, problems = load_inputs(PARAMS_FILE, benchmark)
    summary = generate_benchmark(config, benchmark, problems, output_path(benchmark), work_dir(benchmark))
    print(f"generate@{benchmark}: {summary['rows']} rows ({summary['n_tasks']} tasks x "
          f"{summary['n_samples']} samples, backend {config.backend}) -> {output_path(benchmark)}")


if __name__ == "__main__":
    run_stage("generate", main)
