"""Run a fine-tune: key its run folder, build the starting model, launch DeepSpeed ranks
(`evolcoder.train.launch`)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evolcoder.config import ConfigError, recipe
from evolcoder.cpu_numerics import PORTABLE_KERNELS, environment
from evolcoder.errors import EvolcoderError
from evolcoder.jsonl import read_jsonl, write_json
from evolcoder.templates import example_texts
from evolcoder.train.config import ModelConfig, TrainConfig, TrainRuntime, check_attention
from evolcoder.train.launch import check_gpus_per_rank, has_gpu, launch
from evolcoder.train.workdir import continue_run, holding, last_checkpoint, prepare_run_dir, run_record

# What metrics/train.json holds: facts of the trained model and its data, the same for every run
# of the same inputs. How this run went (tokens/s, the step it resumed from, peak GPU memory)
# is printed instead: a hashed output must not change with the machine's speed or a restart.
METRIC_KEYS = ("final_loss", "best_loss", "steps", "tokens_seen", "padding_efficiency", "n_params",
               "trainable_params", "rows", "truncated_rows", "fully_masked_rows", "world_size",
               "gradient_accumulation_steps", "continued_from", "continued_code_differs")


@dataclass
class RunPaths:
    data: Path  # train.jsonl
    output_dir: Path  # final Hugging Face model
    curves_dir: Path  # DVCLive folder


def run_training(model_cfg: ModelConfig, train_cfg: TrainConfig, runtime: TrainRuntime,
                 paths: RunPaths) -> dict[str, Any]:
    """Train (resuming this run's last checkpoint if any); return the summary the ranks wrote."""
    check_attention(train_cfg, runtime)
    check_inputs(train_cfg, paths)
    run_dir = prepare_run_dir(runtime.work_dir, training_record(model_cfg, train_cfg, paths.data))
    continued = {"continued_from": None, "continued_code_differs": False}
    if train_cfg.continue_from:
        continued = continue_run(run_dir, train_cfg.continue_from, runtime.work_dir)
        print(f"train: continuing {continued['continued_from']}"
              + (", trained by other code" if continued["continued_code_differs"] else ""), flush=True)
    resume = last_checkpoint(run_dir)
    print(f"train: run folder {run_dir}" + (f", resuming from {resume.name}" if resume else ""), flush=True)
    model, revision = starting_model(model_cfg, train_cfg.seed, paths.data, run_dir)
    spec = {
        "train": dataclasses.asdict(train_cfg),
        "runtime": dataclasses.asdict(runtime),
        "model": model,
        "revision": revision,
        "data": str(paths.data),
        "run_dir": str(run_dir),
        "output_dir": str(paths.output_dir),
        "curves_dir": str(paths.curves_dir),
        "summary": str(run_dir / "summary.json"),
    }
    if paths.output_dir.exists():
        shutil.rmtree(paths.output_dir)  # no stale shards from an earlier run
    spec_path = run_dir / "spec.json"
    write_json(spec_path, spec)
    with holding(run_dir):
        launch(train_cfg, spec_path, run_dir, runtime.master_addr)
    if train_cfg.adapter == "lora":
        from evolcoder.train.adapters import merge_adapter  # torch, transformers, peft: imported here only when used

        with environment(PORTABLE_KERNELS):  # the same merged weights on any CPU, as the scratch model's
            merge_adapter(spec["model"], spec["revision"], paths.output_dir, train_cfg.precision)
    with open(run_dir / "summary.json", encoding="utf-8") as f:
        return {"run_key": run_dir.name, "run_dir": str(run_dir), **json.load(f), **continued}


def training_record(model_cfg: ModelConfig, train_cfg: TrainConfig, data: Path) -> dict[str, Any]:
    """What the run's key hashes: the model and train recipes, the data, the DeepSpeed config, the code."""
    params = {"model": recipe(model_cfg), "train": recipe(train_cfg)}
    return run_record(params, data, train_cfg.deepspeed_config)


def check_inputs(train_cfg: TrainConfig, paths: RunPaths) -> None:
    """Fail before launching anything when the run cannot start here."""
    if not Path(train_cfg.deepspeed_config).is_file():
        raise ConfigError(f"train.deepspeed_config: {train_cfg.deepspeed_config} does not exist "
                          "(see configs/deepspeed/ for the ZeRO-3 configs)")
    if train_cfg.precision != "fp32" and not has_gpu():
        raise ConfigError(f"train.precision: {train_cfg.precision} needs a GPU and none is visible; "
                          "use fp32 on the CPU")
    check_gpus_per_rank(train_cfg)
    if not paths.data.is_file():
        raise EvolcoderError(f"{paths.data}: training data not found; run `dvc repro dataset` first")


def starting_model(model_cfg: ModelConfig, seed: int, data: Path, run_dir: Path) -> tuple[str, str | None]:
    """The hub id or folder the ranks load, and its revision (None for a folder): for `init: scratch`,
    a tokenizer and model built once here."""
    if model_cfg.init == "pretrained":
        return model_cfg.pretrained_source("model.init: pretrained")
    init_dir = run_dir / "init"
    if not init_dir.is_dir():
        from evolcoder.train.model import build_scratch_model, train_tokenizer  # torch, transformers: only when used

        texts = (prompt + answer for prompt, answer in map(example_texts, read_jsonl(data)))
        cfg = model_cfg.config
        tokenizer = train_tokenizer(texts, cfg.vocab_size, cfg.tokenizer_min_frequency, cfg.architecture)
        tokenizer.model_max_length = cfg.n_positions
        with environment(PORTABLE_KERNELS):  # the same random weights on any CPU (in a process that has run no op yet)
            model = build_scratch_model(cfg, tokenizer, seed)
        partial = run_dir / "init.partial"  # renamed when complete: a kill never leaves half a model
        shutil.rmtree(partial, ignore_errors=True)
        tokenizer.save_pretrained(partial)
        model.save_pretrained(partial)
        os.replace(partial, init_dir)
    return str(init_dir), None
