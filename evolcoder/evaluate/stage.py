"""The evaluate stage: run a benchmark's generations in the sandbox and score pass@k
(`python -m stages.evaluate <bench>`, `evolcoder evaluate <bench>`). With
`evaluate.reference_check`, the canonical solutions are scored first and the stage fails if any
does not pass, so a broken environment never passes for a weak model."""

from __future__ import annotations

from pathlib import Path

from evolcoder.benchmarks import load_enabled_benchmark
from evolcoder.config import load_runtime, load_section
from evolcoder.evaluate.config import EvaluateConfig, EvaluateRuntime
from evolcoder.evaluate.evaluate import check_references, evaluate
from evolcoder.evaluate.output import format_summary, write_evaluation
from evolcoder.evaluate.samples import read_samples
from evolcoder.files.paths import EvaluateFiles


def run(params: str | Path, benchmark: str) -> str:
    """Score the benchmark's samples file and write the results and metrics; return what to print."""
    runtime = load_runtime(params, "evaluate", EvaluateRuntime)
    config = load_section(params, "evaluate", EvaluateConfig)
    files = EvaluateFiles.of(benchmark)
    problems = load_enabled_benchmark(params, benchmark)
    lines = []
    if config.reference_check:
        check_references(problems, config, runtime)
        lines.append(f"evaluate@{benchmark}: all {len(problems)} canonical solutions pass")
    evaluation = evaluate(problems, read_samples(files.samples, benchmark), config, runtime)
    write_evaluation(evaluation, files.results, files.metrics)
    return "\n".join([*lines, format_summary(benchmark, evaluation.metrics),
                      f"evaluate@{benchmark}: sandbox isolation {evaluation.isolation}"])
