"""The train stage: fine-tune with DeepSpeed on the training set, resumably
(`python -m stages.train`, `evolcoder train`)."""

from __future__ import annotations

from pathlib import Path

from evolcoder.config import load_section, recipe
from evolcoder.download import file_sha256
from evolcoder.files.paths import TrainFiles
from evolcoder.jsonl import write_json
from evolcoder.train.config import ModelConfig, TrainConfig
from evolcoder.train.runner import METRIC_KEYS, RunPaths, run_training
from evolcoder.train.workdir import remove_run_dir


def run(params: str | Path, files: TrainFiles = TrainFiles()) -> str:
    """Train, write the model with its recipe and the metrics; return what to print."""
    model = load_section(params, "model", ModelConfig)
    train = load_section(params, "train", TrainConfig)
    summary = run_training(model, train, RunPaths(data=files.data, output_dir=files.checkpoint,
                                                  curves_dir=files.curves_dir))
    write_json(files.checkpoint / "params.json", {  # the recipe only: runtime knobs must not change the model's hash
        "model": recipe(model), "train": recipe(train),
        "data": str(files.data), "data_sha256": file_sha256(files.data), "run_key": summary["run_key"]})
    write_json(files.metrics, {key: summary[key] for key in METRIC_KEYS})
    remove_run_dir(summary["run_dir"])  # finished: DVC's cache holds the model from here on
    peak = summary["peak_gpu_memory_mb"]
    lines = [f"train: {summary['steps']} steps, loss {summary['final_loss']:.3f} (best {summary['best_loss']:.3f}), "
             f"padding efficiency {summary['padding_efficiency']:.2f} -> {files.checkpoint}",
             f"train: this run: {summary['tokens_per_s']:.0f} tokens/s, resumed from step "
             f"{summary['resumed_from_step']}" + (f", peak GPU memory {peak:.0f} MiB" if peak is not None else "")]
    if summary["fully_masked_ids"]:
        ids = summary["fully_masked_ids"]
        lines.append(f"train: warning: dropped {len(ids)} rows whose prompt alone fills train.max_length="
                     f"{train.max_length} (no answer token left to learn): {', '.join(ids[:10])}")
    return "\n".join(lines)
