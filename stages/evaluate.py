"""DVC stage `evaluate@<bench>`: run a benchmark's generations in the sandbox, score pass@k.

Usage: python -m stages.evaluate <bench>. With `evaluate.reference_check`, the canonical
solutions are scored first and the stage fails if any does not pass, so a broken
environment never passes for a weak model.
"""

from evolcoder.config import load_section
from evolcoder.benchmarks import load_enabled_benchmark
from evolcoder.evaluate.config import EvaluateConfig
from evolcoder.evaluate.evaluate import check_references, evaluate
from evolcoder.evaluate.output import format_summary, write_evaluation
from evolcoder.evaluate.samples import read_samples
from stages import PARAMS_FILE, stage_argument, run_stage


def main() -> None:
    benchmark = stage_argument("evaluate")
    config = load_section(PARAMS_FILE, "evaluate", EvaluateConfig)
    problems = load_enabled_benchmark(PARAMS_FILE, benchmark)
    if config.reference_check:
        check_references(problems, config)
        print(f"evaluate@{benchmark}: all {len(problems)} canonical solutions pass")
    samples = read_samples(f"data/generations/{benchmark}.jsonl", benchmark)
    evaluation = evaluate(problems, samples, config)
    write_evaluation(evaluation, f"data/eval/{benchmark}.jsonl", f"metrics/{benchmark}.json")
    print(format_summary(benchmark, evaluation.metrics))
    print(f"evaluate@{benchmark}: sandbox isolation {evaluation.isolation}")


if __name__ == "__main__":
    run_stage("evaluate", main)
