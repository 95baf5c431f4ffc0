"""DVC stage `report`: metrics/report.md (the benchmark table) and metrics/passk.json (the plot).

Reads the metrics of every benchmark enabled in params.yaml's `benchmarks`, dvc.lock for
the md5 of the model and the training set behind them, and the dataset and evolve metrics
for the dry-run banner.
"""

import json
from pathlib import Path
from typing import Any

from evolcoder.config import load_section, read_yaml
from evolcoder.errors import EvolcoderError
from evolcoder.jsonl import atomic_open, write_json
from evolcoder.report import ReportConfig, dry_run_notice, passk_rows, provenance, render_report
from stages import PARAMS_FILE, run_stage

MODEL = "models/checkpoint"
DATASET = "data/dataset/train.jsonl"
PROFILE_KEYS = ("seed.source", "evolve.rounds", "llm.provider", "llm.model", "dataset.rounds", "model.init",
                "model.name_or_path", "train.precision", "train.global_batch_size", "train.lr", "train.epochs",
                "train.max_length", "generate.backend", "generate.temperature", "generate.top_p",
                "generate.n_samples", "generate.max_new_tokens", "generate.tabs")


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
    benchmarks = list(params.get("benchmarks", {}))
    metrics = {b: _read_json(f"metrics/{b}.json", f"run `dvc repro evaluate@{b}`") for b in benchmarks}
    lock = read_yaml("dvc.lock") if Path("dvc.lock").is_file() else {}
    origins = {b: provenance(lock, b, MODEL, DATASET) for b in benchmarks}
    notice = dry_run_notice(_read_json("metrics/dataset.json"), _read_json("metrics/evolve.json"))
    profile = {key: _lookup(params, key) for key in PROFILE_KEYS}
    with atomic_open("metrics/report.md") as f:
        f.write(render_report(config, metrics, origins, profile, notice))
    write_json("metrics/passk.json", passk_rows(metrics))
    print(f"report: {', '.join(benchmarks)} -> metrics/report.md" + (" (dry-run banner)" if notice else ""))


if __name__ == "__main__":
    run_stage("report", main)
