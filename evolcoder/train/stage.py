"""The train stage: fine-tune with DeepSpeed on the training set, resumably
(`python -m stages.train`, `evolcoder train`), and the clean-up of old run folders
(`evolcoder train --clean`)."""

from __future__ import annotations

from pathlib import Path

from evolcoder.config import load_runtime, load_section, recipe
from evolcoder.download import file_sha256
from evolcoder.files.paths import TrainFiles
from evolcoder.jsonl import read_json, write_json
from evolcoder.train.config import ModelConfig, TrainConfig, TrainRuntime
from evolcoder.train.runner import METRIC_KEYS, RunPaths, run_training, training_record
from evolcoder.train.workdir import clean_runs, key_of, remove_run_dir, source_run_dir


def run(params: str | Path, files: TrainFiles = TrainFiles()) -> str:
    """Train, write the model with its recipe and the metrics; return what to print."""
    runtime = load_runtime(params, "train", TrainRuntime)  # first: it refuses a runtime knob in the train section
    model = load_section(params, "model", ModelConfig)
    train = load_section(params, "train", TrainConfig)
    summary = run_training(model, train, runtime, RunPaths(data=files.data, output_dir=files.checkpoint,
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


def clean(params: str | Path, dry_run: bool = False, files: TrainFiles = TrainFiles()) -> str:
    """Remove the run folders under runtime.train.work_dir but the one the checkpoint came from,
    the one this recipe, data and code would resume, the one train.continue_from names and any a
    training is running in (each decision is printed); return the total."""
    work_dir = load_runtime(params, "train", TrainRuntime).work_dir
    model = load_section(params, "model", ModelConfig)
    train = load_section(params, "train", TrainConfig)
    keep = {}
    trained_in = files.checkpoint / "params.json"
    if trained_in.is_file():
        keep[read_json(trained_in)["run_key"]] = f"{files.checkpoint} was trained in it (the model DVC tracks)"
    if files.data.is_file():
        keep[key_of(training_record(model, train, files.data))] = (
            f"the run of {params}'s recipe, {files.data} and this code (`dvc repro train` resumes it)")
    if train.continue_from:
        keep[source_run_dir(work_dir, train.continue_from).name] = "train.continue_from names it"
    removed = clean_runs(work_dir, keep, dry_run)
    return (f"train clean: {'would free' if dry_run else 'freed'} {sum(size for _, size in removed) / 1e9:.2f} GB "
            f"in {len(removed)} run folder(s) under {work_dir}")
