"""DVC stage `train`: fine-tune with DeepSpeed on data/dataset/train.jsonl (resumable)."""

from pathlib import Path

from evolcoder.config import load_section, recipe
from evolcoder.download import file_sha256
from evolcoder.jsonl import write_json
from evolcoder.train.config import ModelConfig, TrainConfig
from evolcoder.train.runner import METRIC_KEYS, RunPaths, run_training
from evolcoder.train.workdir import remove_run_dir
from stages import PARAMS_FILE, run_stage

DATA = "data/dataset/train.jsonl"
OUT = "models/checkpoint"
CURVES = "metrics/train_curves"
METRICS = "metrics/train.json"


def main() -> None:
    model = load_section(PARAMS_FILE, "model", ModelConfig)
    train = load_section(PARAMS_FILE, "train", TrainConfig)
    paths = RunPaths(data=Path(DATA), output_dir=Path(OUT), curves_dir=Path(CURVES))
    summary = run_training(model, train, paths)
    write_json(f"{OUT}/params.json", {  # the recipe only: runtime knobs must not change the model's hash
        "model": recipe(model), "train": recipe(train),
        "data": DATA, "data_sha256": file_sha256(DATA), "run_key": summary["run_key"]})
    write_json(METRICS, {key: summary[key] for key in METRIC_KEYS})
    remove_run_dir(summary["run_dir"])  # finished: DVC's cache holds the model from here on
    print(f"train: {summary['steps']} steps, loss {summary['final_loss']:.3f} (best {summary['best_loss']:.3f}), "
          f"padding efficiency {summary['padding_efficiency']:.2f} -> {OUT}")
    peak = summary["peak_gpu_memory_mb"]
    print(f"train: this run: {summary['tokens_per_s']:.0f} tokens/s, resumed from step {summary['resumed_from_step']}"
          + (f", peak GPU memory {peak:.0f} MiB" if peak is not None else ""))
    if summary["fully_masked_ids"]:
        ids = summary["fully_masked_ids"]
        print(f"train: warning: dropped {len(ids)} rows whose prompt alone fills train.max_length="
              f"{train.max_length} (no answer token left to learn): {', '.join(ids[:10])}")


if __name__ == "__main__":
    run_stage("train", main)
