"""DVC stage `train`: fine-tune with DeepSpeed on data/dataset/train.jsonl (resumable).

`python -m stages.train --clean [--dry-run]` removes the run folders under runtime.train.work_dir
but the one models/checkpoint came from, the one this recipe, data and code would resume, the
one train.continue_from names and any a training is running in.
"""

import argparse
from pathlib import Path

from evolcoder.config import load_section, recipe
from evolcoder.download import file_sha256
from evolcoder.jsonl import read_json, write_json
from evolcoder.train.config import ModelConfig, TrainConfig
from evolcoder.train.runner import METRIC_KEYS, RunPaths, run_training, training_record
from evolcoder.train.workdir import clean_runs, key_of, remove_run_dir, source_run_dir
from stages import PARAMS_FILE, run_stage

DATA = "data/dataset/train.jsonl"
OUT = "models/checkpoint"
CURVES = "metrics/train_curves"
METRICS = "metrics/train.json"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m stages.train", description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="remove the run folders no longer needed")
    parser.add_argument("--dry-run", action="store_true", help="with --clean: say what it would remove")
    args = parser.parse_args()
    model = load_section(PARAMS_FILE, "model", ModelConfig)
    train = load_section(PARAMS_FILE, "train", TrainConfig)
    if args.clean:
        clean(model, train, args.dry_run)
        return
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


def clean(model: ModelConfig, train: TrainConfig, dry_run: bool) -> None:
    keep = {}
    if Path(OUT, "params.json").is_file():
        keep[read_json(Path(OUT, "params.json"))["run_key"]] = f"{OUT} was trained in it (the model DVC tracks)"
    if Path(DATA).is_file():
        keep[key_of(training_record(model, train, Path(DATA)))] = (
            f"the run of {PARAMS_FILE}'s recipe, {DATA} and this code (`dvc repro train` resumes it)")
    if train.continue_from:
        keep[source_run_dir(train.work_dir, train.continue_from).name] = "train.continue_from names it"
    removed = clean_runs(train.work_dir, keep, dry_run)
    print(f"train clean: {'would free' if dry_run else 'freed'} {sum(size for _, size in removed) / 1e9:.2f} GB "
          f"in {len(removed)} run folder(s) under {train.work_dir}")


if __name__ == "__main__":
    run_stage("train", main)
