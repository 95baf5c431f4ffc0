"""DVC stage `report`: metrics/report.md (the benchmark table) and metrics/passk.json (the plot).

Reads the metrics of every benchmark in params.yaml's `benchmarks`, dvc.lock for the md5 of
the model (`generate.model`), the problems and the training set behind them, and the dataset
and evolve metrics for the decontamination list and the dry-run banner.
"""

import json
from pathlib import Path
from typing import Any

from evolcoder.config import load_section, read_yaml
from evolcoder.errors import EvolcoderError
from evolcoder.jsonl import atomic_open, write_json
from evolcoder.benchmarks import benchmark_file, enabled_benchmarks
from evolcoder.report import ReportConfig, dry_run_notice, passk_rows, provenance, render_report
from stages import PARAMS_FILE, run_stage

DATASET = "data/dataset/train.jsonl"
DECONTAM_KEY = "dropped_benchmark_"  # metrics/dataset.json has one per benchmark decontaminated against
PROFILE_KEYS = ("seed.source", "evolve.rounds", "llm.provider", "llm.model", "dataset.rounds", "dataset.length_counter",
                "model.init", "model.name_or_path", "model.revision", "train.precision", "train.global_batch_size",
                "train.lr", "train.epochs", "train.max_length", "generate.model", "generate.backend",
                "generate.temperature", "generate.top_p", "generate.n_samples", "generate.max_new_tokens",
                "generate.tabs")


def _read_json(path: str, missing: str | None = None) -> dict[str, Any]:
    if not Path(path).is_file():
        if missing is None:
            return {}
        raise EvolcoderError(f"{path} not found: {missing}")
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise EvolcoderError(f"{path}:{e.lineno}: malformed JSON ({e.msg}); rerun the stage that writes it") from e


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
    dataset = _read_json("metrics/dataset.json")
    decontaminated = [key.removeprefix(DECONTAM_KEY) for key in dataset if key.startswith(DECONTAM_KEY)]
    notice = dry_run_notice(dataset, _read_json("metrics/evolve.json"))
    profile = {key: _lookup(params, key) for key in PROFILE_KEYS}
    with atomic_open("metrics/report.md") as f:
        f.write(render_report(config, metrics, origins, decontaminated, profile, notice))
    write_json("metrics/passk.json", passk_rows(metrics))
    print(f"report: {', '.join(benchmarks)} -> metrics/report.md" + (" (dry-run banner)" if notice else ""))


if __name__ == "__main__":
    run_stage("report", main)
