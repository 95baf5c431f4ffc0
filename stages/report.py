"""DVC stage `report`: metrics/report.md (our figures among WizardCoder's table, and its charts),
the charts as SVG files in metrics/charts/, and the plot files metrics/passk.json and
metrics/pass1_vs_paper.json.

Reads the metrics of every benchmark in params.yaml's `benchmarks`, dvc.lock for the md5 of
the model (`generate.model`), the problems and the training set behind them, the dataset and
evolve metrics for the decontamination list and the dry-run banner, each benchmark's generation
metadata (library versions, batch shapes), the training metrics (whether the run continued
another), the params in PROFILE_KEYS (the report stage's params in dvc.yaml are `benchmarks`,
`report` and these), and the plot files the charts are drawn from (those `dvc plots` shows).
"""

from pathlib import Path
from typing import Any

from evolcoder.benchmarks import benchmark_file, enabled_benchmarks
from evolcoder.report.charts import specs
from evolcoder.report.charts.render import Chart, charts_section, draw_charts
from evolcoder.config import load_section, read_yaml
from evolcoder.errors import EvolcoderError
from evolcoder.jsonl import atomic_open, read_json, write_json
from evolcoder.report.report import (ReportConfig, RunFacts, dry_run_notice, pass1_rows, passk_rows, provenance,
                              render_report)
from stages import PARAMS_FILE, run_stage

DATASET = "data/dataset/train.jsonl"
DATASET_STATS = "data/dataset/stats.json"  # with `dropped_benchmark_<b>` for each benchmark decontaminated against
DECONTAM_KEY = "dropped_benchmark_"
GENERATION_META = "data/generations/{benchmark}.meta.json"  # the generate stage's: backend, versions, batch shapes
TRAIN_METRICS = "metrics/train.json"
PROFILE_KEYS = ("seed.source", "evolve.rounds", "llm.provider", "llm.model", "dataset.rounds", "dataset.length_counter",
                "model.init", "model.name_or_path", "model.revision", "train.precision", "train.global_batch_size",
                "train.lr", "train.epochs", "train.max_length", "generate.model", "generate.backend",
                "generate.temperature", "generate.top_p", "generate.n_samples", "generate.max_new_tokens",
                "generate.tabs")
REPORT = Path("metrics/report.md")
CHARTS_DIR = Path("metrics/charts")
PASS1_PLOT = "metrics/pass1_vs_paper.json"
# One chart per plot file: to add one, write its spec in evolcoder/report/charts/specs.py and a line here.
CHARTS = (
    Chart("pass1_vs_paper", PASS1_PLOT, "report", "pass@1 (%): this run beside the published figures it reproduces",
          specs.pass1_vs_paper),
    Chart("train_loss", "metrics/train_curves/plots/metrics/loss.tsv", "train", "Training loss by step",
          specs.train_loss),
    Chart("composition", "data/dataset/plots/composition.json", "dataset", "Training rows by round and method",
          specs.composition),
    Chart("instruction_length", "data/dataset/plots/instruction_length.json", "dataset",
          "Mean instruction length by round (words)", specs.instruction_length),
    Chart("verify_pass_rate", "data/verify/plots/pass_rate.json", "verify",
          "Answers whose code passed verification, by round and method", specs.verify_pass_rate),
)


def _read_json(path: str, missing: str | None = None) -> dict[str, Any]:
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


def main() -> None:
    config = load_section(PARAMS_FILE, "report", ReportConfig)
    params = read_yaml(PARAMS_FILE)
    benchmarks = enabled_benchmarks(PARAMS_FILE)
    model = _lookup(params, "generate.model")
    if not model:
        raise EvolcoderError(f"{PARAMS_FILE}: generate.model is not set; it names the model the scores come from")
    metrics = {b: _read_json(f"metrics/{b}.json", f"run `dvc repro evaluate@{b}`") for b in benchmarks}
    lock = read_yaml("dvc.lock") if Path("dvc.lock").is_file() else {}
    origins = {b: provenance(lock, b, model, str(benchmark_file(b)), DATASET) for b in benchmarks}
    dataset = _read_json(DATASET_STATS)
    decontaminated = [key.removeprefix(DECONTAM_KEY) for key in dataset if key.startswith(DECONTAM_KEY)]
    notice = dry_run_notice(dataset, _read_json("metrics/evolve.json"))
    facts = RunFacts(metrics, origins, decontaminated, profile={key: _lookup(params, key) for key in PROFILE_KEYS},
                     notice=notice, train=_read_json(TRAIN_METRICS),
                     generations={b: _read_json(GENERATION_META.format(benchmark=b)) for b in benchmarks})
    write_json("metrics/passk.json", passk_rows(metrics))
    write_json(PASS1_PLOT, pass1_rows(config, metrics))
    charts = charts_section(draw_charts(CHARTS, CHARTS_DIR), REPORT.parent)
    with atomic_open(REPORT) as f:
        f.write(render_report(config, facts, charts))
    print(f"report: {', '.join(benchmarks)} -> {REPORT}, {CHARTS_DIR}/" + (" (dry-run banner)" if notice else ""))


if __name__ == "__main__":
    run_stage("report", main)
