"""Run a fine-tune: key its run folder, build the starting model, launch DeepSpeed ranks.

The launch is DeepSpeed's own launcher (`python -m deepspeed.launcher.runner`, the `deepspeed`
command), which starts `train.num_processes` ranks of `evolcoder.train.worker` per node, and
with `train.hostfile` spreads them over the hosts listed there (over ssh/pdsh). Without a GPU
it runs the ranks on the CPU (`DS_ACCELERATOR=cpu`, gloo).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evolcoder.config import ConfigError, recipe
from evolcoder.errors import EvolcoderError
from evolcoder.jsonl import read_jsonl, write_json
from evolcoder.templates import example_texts
from evolcoder.train.adapters import merge_adapter
from evolcoder.train.config import ModelConfig, TrainConfig
from evolcoder.train.model import build_scratch_model, train_tokenizer
from evolcoder.train.workdir import last_checkpoint, prepare_run_dir, run_key

METRIC_KEYS = ("final_loss", "best_loss", "steps", "tokens_seen", "tokens_per_s", "steady_tokens_per_s",
               "padding_efficiency", "n_params", "trainable_params", "rows", "truncated_rows",
               "fully_masked_rows", "world_size", "gradient_accumulation_steps", "resumed_from_step",
               "peak_gpu_memory_mb")


class TrainingFailed(EvolcoderError):
    """A training rank exited with an error; its output above says why."""


@dataclass
class RunPaths:
    data: Path  # train.jsonl
    output_dir: Path  # final Hugging Face model
    curves_dir: Path  # DVCLive folder


def run_training(model_cfg: ModelConfig, train_cfg: TrainConfig, paths: RunPaths) -> dict[str, Any]:
    """Train (resuming this run's last checkpoint if any); return the summary the ranks wrote."""
    check_inputs(train_cfg, paths)
    params = {"model": recipe(model_cfg), "train": recipe(train_cfg)}
    key = run_key(params, paths.data, train_cfg.deepspeed_config)
    run_dir = prepare_run_dir(train_cfg.work_dir, key)
    resume = last_checkpoint(run_dir)
    print(f"train: run folder {run_dir}" + (f", resuming from {resume.name}" if resume else ""), flush=True)
    spec = {
        "train": dataclasses.asdict(train_cfg),
        "model": starting_model(model_cfg, train_cfg.seed, paths.data, run_dir),
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
    launch(train_cfg, spec_path)
    if train_cfg.adapter == "lora":
        merge_adapter(spec["model"], paths.output_dir)
    with open(run_dir / "summary.json", encoding="utf-8") as f:
        return {"run_key": key, "run_dir": str(run_dir), **json.load(f)}


def check_inputs(train_cfg: TrainConfig, paths: RunPaths) -> None:
    """Fail before launching anything when the run cannot start here."""
    if not Path(train_cfg.deepspeed_config).is_file():
        raise ConfigError(f"train.deepspeed_config: {train_cfg.deepspeed_config} does not exist "
                          "(see configs/deepspeed/ for the ZeRO-3 configs)")
    if train_cfg.precision != "fp32" and not _has_gpu():
        raise ConfigError(f"train.precision: {train_cfg.precision} needs a GPU and none is visible; "
                          "use fp32 on the CPU")
    if not paths.data.is_file():
        raise EvolcoderError(f"{paths.data}: training data not found; run `dvc repro dataset` first")


def starting_model(model_cfg: ModelConfig, seed: int, data: Path, run_dir: Path) -> str:
    """The hub id or folder the ranks load: for `init: scratch`, a tokenizer and model built once here."""
    if model_cfg.init == "pretrained":
        return model_cfg.name_or_path
    init_dir = run_dir / "init"
    if not init_dir.is_dir():
        texts = (prompt + answer for prompt, answer in map(example_texts, read_jsonl(data)))
        cfg = model_cfg.config
        tokenizer = train_tokenizer(texts, cfg.vocab_size, cfg.tokenizer_min_frequency)
        tokenizer.model_max_length = cfg.n_positions
        model = build_scratch_model(cfg, tokenizer, seed)
        partial = run_dir / "init.partial"  # renamed when complete: a kill never leaves half a model
        shutil.rmtree(partial, ignore_errors=True)
        tokenizer.save_pretrained(partial)
        model.save_pretrained(partial)
        os.replace(partial, init_dir)
    return str(init_dir)


def launch_command(cfg: TrainConfig, spec_path: str | Path, port: int) -> list[str]:
    """The `deepspeed` launcher command line for the worker module."""
    cmd = [sys.executable, "-m", "deepspeed.launcher.runner", "--num_nodes", str(cfg.num_nodes),
           "--num_gpus", str(cfg.num_processes), "--master_port", str(port), "--no_local_rank"]
    if cfg.hostfile:
        cmd += ["--hostfile", cfg.hostfile]
    return cmd + ["--module", "evolcoder.train.worker", str(spec_path)]


def launch_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The ranks' environment: DeepSpeed's CPU accelerator where there is no GPU."""
    env = dict(os.environ if base is None else base)
    if not _has_gpu():
        env.setdefault("DS_ACCELERATOR", "cpu")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


def launch(cfg: TrainConfig, spec_path: str | Path) -> None:
    cmd = launch_command(cfg, spec_path, free_port())
    print("train: " + " ".join(cmd), flush=True)
    result = subprocess.run(cmd, env=launch_env())
    if result.returncode != 0:
        raise TrainingFailed(f"the DeepSpeed launcher exited with status {result.returncode} "
                             f"(spec {spec_path}); the ranks' errors are printed above. "
                             "Rerunning resumes from the last saved checkpoint.")


def _has_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

