"""The report stage (`python -m stages.report`, `evolcoder report`): the report (our figures
among WizardCoder's table, and its charts), the charts as SVG files, and the pass@k plot files.

Reads the metrics of every benchmark in the params' `benchmarks`, dvc.lock for the md5 of the
model (`generate.model`), the problems and the training set behind them, the dataset and evolve
metrics for the decontamination list and the dry-run banner, each benchmark's generation
metadata (library versions, batch shapes), the training metrics (whether the run continued
another), the params in PROFILE_KEYS (the report stage's params in dvc.yaml are `benchmarks`,
`report` and these), and the plot files the charts are drawn from (those `dvc plots` shows).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evolcoder.benchmarks import enabled_benchmarks
from evolcoder.config import load_section, read_yaml
from evolcoder.errors import EvolcoderError
from evolcoder.files.paths import GenerateFiles, ReportFiles, benchmark_metrics, benchmark_problems
from evolcoder.files.records import DROPPED_BENCHMARK
from evolcoder.jsonl import atomic_open, read_json, write_json
from evolcoder.report.charts import specs
from evolcoder.report.charts.render import Chart, charts_section, draw_charts
from evolcoder.report.report import (ReportConfig, RunFacts, dry_run_notice, pass1_rows, passk_rows, provenance,
                                     render_report)

PROFILE_KEYS = ("seed.source", "evolve.rounds", "llm.provider", "llm.model", "dataset.rounds", "dataset.length_counter",
                "model.init", "model.name_or_path", "model.revision", "train.precision", "train.global_batch_size",
                "train.lr", "train.epochs", "train.max_length", "generate.model", "generate.backend",
                "generate.temperature", "generate.top_p", "generate.n_samples", "generate.max_new_tokens",
                "generate.tabs", "generate.prompt", "model.config.architecture")


def charts(files: ReportFiles) -> tuple[Chart, ...]:
    """One chart per plot file: to add one, write its spec in evolcoder/report/charts/specs.py and a line here."""
    return (
        Chart("pass1_vs_paper", str(files.pass1_plot), "report",
              "pass@1 (%): this run beside the published figures it reproduces", specs.pass1_vs_paper),
        Chart("train_loss", str(files.train_loss), "train", "Training loss by step", specs.train_loss),
        Chart("composition", str(files.composition_plot), "dataset", "Training rows by round and method",
              specs.composition),
        Chart("instruction_length", str(files.instruction_length_plot), "dataset",
              "Mean instruction length by round (words)", specs.instruction_length),
        Chart("verify_pass_rate", str(files.pass_rate_plot), "verify",
              "Answers whose code passed verification, by round and method", specs.verify_pass_rate),
    )


def _read_json(path: str | Path, missing: str | None = None) -> dict[str, Any]:
    if not Path(path).is_file():
        if missing is None:
            return {}
        raise EvolcoderError(f"{path} not found: {missing}")
    return read_json(path)


def _lookup(params: dict[str, Any], dotted: str) -> Any:
    value: Any = params
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def run(params: str | Path, files: ReportFiles = ReportFiles()) -> str:
    """Write the report, its charts and the plot files; return what to print."""
    config = load_section(params, "report", ReportConfig)
    values = read_yaml(params)
    benchmarks = enabled_benchmarks(params)
    model = _lookup(values, "generate.model")
    if not model:
        raise EvolcoderError(f"{params}: generate.model is not set; it names the model the scores come from")
    metrics = {b: _read_json(benchmark_metrics(b), f"run `dvc repro evaluate@{b}`") for b in benchmarks}
    lock = read_yaml("dvc.lock") if Path("dvc.lock").is_file() else {}
    origins = {b: provenance(lock, b, model, str(benchmark_problems(b)), str(files.train_set)) for b in benchmarks}
    dataset = _read_json(files.dataset_stats)
    decontaminated = [key.removeprefix(DROPPED_BENCHMARK) for key in dataset if key.startswith(DROPPED_BENCHMARK)]
    notice = dry_run_notice(dataset, _read_json(files.evolve_metrics))
    facts = RunFacts(metrics, origins, decontaminated, profile={key: _lookup(values, key) for key in PROFILE_KEYS},
                     notice=notice, train=_read_json(files.train_metrics),
                     generations={b: _read_json(GenerateFiles.of(b).meta) for b in benchmarks})
    write_json(files.passk_plot, passk_rows(metrics))
    write_json(files.pass1_plot, pass1_rows(config, metrics))
    section = charts_section(draw_charts(charts(files), files.charts), files.report.parent)
    with atomic_open(files.report) as f:
        f.write(render_report(config, facts, section))
    return f"report: {', '.join(benchmarks)} -> {files.report}, {files.charts}/" + (" (dry-run banner)" if notice else "")
