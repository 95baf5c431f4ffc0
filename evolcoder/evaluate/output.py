"""Writing an evaluation: `results.jsonl`, `metrics.json` and the printed summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evolcoder.benchmarks import get
from evolcoder.jsonl import write_json, write_jsonl
from evolcoder.evaluate.evaluate import Evaluation


def write_evaluation(evaluation: Evaluation, results_path: str | Path, metrics_path: str | Path) -> None:
    """One result row per sample, and the flat metrics."""
    write_jsonl(results_path, evaluation.rows)
    write_json(metrics_path, evaluation.metrics)


def format_summary(benchmark: str, metrics: dict[str, Any], source: str = "") -> str:
    """The scores as EvalPlus prints them: base pass@k, then base + extra (plus) pass@k, as
    fractions with three decimals; a benchmark without plus tests prints its pass@k alone."""
    dataset = get(benchmark).oracles or benchmark  # EvalPlus's name: humaneval, mbpp
    lines = [f"{benchmark}: {metrics['n_tasks']} tasks, {metrics['n_samples']} samples" + (f" ({source})" if source else "")]
    base = {k: v for k, v in metrics.items() if k.startswith("pass@")}
    plus = {k.removeprefix("plus_"): v for k, v in metrics.items() if k.startswith("plus_pass@")}
    if plus:
        lines.append(f"{dataset} (base tests)")
    lines += [f"{k}:\t{v:.3f}" for k, v in base.items()]
    if plus:
        lines.append(f"{dataset}+ (base + extra tests)")
        lines += [f"{k}:\t{v:.3f}" for k, v in plus.items()]
    return "\n".join(lines)
