"""Writing an evaluation: `results.jsonl`, `metrics.json` and the printed table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evolcoder.jsonl import write_json, write_jsonl
from evolcoder.evaluation.evaluate import Evaluation


def write_evaluation(evaluation: Evaluation, results_path: str | Path, metrics_path: str | Path) -> None:
    """One result row per sample, and the flat metrics."""
    write_jsonl(results_path, evaluation.rows)
    write_json(metrics_path, evaluation.metrics)


def format_table(benchmark: str, metrics: dict[str, Any]) -> str:
    """The metrics as a two-row text table, scores in percent."""
    scores = [k for k in metrics if "pass@" in k]
    header = ["benchmark", "tasks", "samples", *scores]
    values = [benchmark, str(metrics["n_tasks"]), str(metrics["n_samples"]),
              *(f"{100 * metrics[k]:.1f}" for k in scores)]
    widths = [max(len(h), len(v)) for h, v in zip(header, values)]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(line, widths)) for line in (header, values))
