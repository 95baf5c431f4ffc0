"""The train stage run for real in a scratch project: params.yaml, training data and DeepSpeed
configs in a folder, the stage's entry run there (DeepSpeed ranks on the CPU), or `python -m
stages.train` started there for a test that kills it."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from evolcoder.benchmarks import load_benchmark
from evolcoder.config import PARAMS_FILE
from evolcoder.evaluate.config import EvaluateConfig, EvaluateRuntime
from evolcoder.evaluate.evaluate import evaluate
from evolcoder.evaluate.samples import read_samples
from evolcoder.generate.config import GenerateConfig, GenerateRuntime
from evolcoder.generate.runner import generate_benchmark
from evolcoder.jsonl import read_jsonl, write_jsonl
from evolcoder.train import stage as train_stage
from evolcoder.train.config import TrainRuntime
from tests.support.data import REPO_ROOT


MAX_STEPS, SAVE_STEPS = 12, 4
RUNTIME_KNOBS = {f.name for f in dataclasses.fields(TrainRuntime)}
TINY_GPT_BIGCODE = {"init": "scratch", "config": {"n_layer": 2, "n_embd": 64, "n_head": 4, "n_positions": 1024,
                                                  "vocab_size": 400, "tokenizer_min_frequency": 1}}


def synthetic_rows(n: int = 48) -> list[dict]:
    """Code instructions of varied length, so batches need padding."""
    rows = []
    for i in range(n):
        a, b = i % 7 + 1, i % 5
        doc = f'    """Return {a} * x + {b}."""\n' * (i % 4)
        rows.append({"id": f"s{i}", "instruction": f"Write a function f{i} that returns {a} times x plus {b}.",
                     "input": "", "output": f"def f{i}(x):\n{doc}    return {a} * x + {b}\n",
                     "round": 0, "method": "seed", "source": "test", "provider": None})
    return rows


def make_project(root: Path, model: dict[str, Any] = TINY_GPT_BIGCODE, **train: object) -> Path:
    """A working folder the train stage runs in: params.yaml, training data, DeepSpeed configs.
    `model` is the model section; `train` sets train params; runtime knobs (TrainRuntime's fields)
    go under runtime.train."""
    settings = {"global_batch_size": 8, "per_device_batch_size": 8, "lr": 3e-3, "warmup_steps": 2,
                "max_steps": MAX_STEPS, "save_steps": SAVE_STEPS, "max_length": 256,
                "group_by_length": False, "seed": 0, **train}
    params = {
        "model": model,
        "train": {k: v for k, v in settings.items() if k not in RUNTIME_KNOBS},
        "runtime": {"train": {k: v for k, v in settings.items() if k in RUNTIME_KNOBS}},
    }
    root.mkdir(parents=True, exist_ok=True)
    YAML().dump(params, root / "params.yaml")
    write_jsonl(root / "data/dataset/train.jsonl", synthetic_rows())
    shutil.copytree(REPO_ROOT / "configs/deepspeed", root / "configs/deepspeed")
    return root


def stage_command(root: Path) -> tuple[list[str], dict]:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))  # one OpenMP thread: conftest.py sets it for the run
    return [sys.executable, "-m", "stages.train"], env


def run_stage(root: Path) -> dict:
    """Run the stage in `root` (it must succeed) as `python -m stages.train` does, in this process:
    the ranks are DeepSpeed's own processes either way, and a stage process would only import
    torch and transformers again. Its metrics/train.json; what it prints in stage.log."""
    with contextlib.chdir(root):
        printed = train_stage.run(PARAMS_FILE)
    (root / "stage.log").write_text(printed)
    return json.loads((root / "metrics/train.json").read_text())


def loss_curve(root: Path) -> list[tuple[int, float]]:
    with open(root / "metrics/train_curves/plots/metrics/loss.tsv") as f:
        return [(int(r["step"]), float(r["loss"])) for r in csv.DictReader(f, delimiter="\t")]


def generate_and_evaluate(checkpoint: Path, work: Path, n_tasks: int = 2) -> tuple[dict, list[dict]]:
    """Generate 8 greedy tokens for the first HumanEval tasks with `checkpoint` (the transformers
    backend, on the CPU) and score them in the sandbox: the metrics and the generated rows."""
    problems = load_benchmark("humaneval")[:n_tasks]
    generations = work / "humaneval.jsonl"
    generate_benchmark(GenerateConfig(model=str(checkpoint), max_new_tokens=8), GenerateRuntime(device="cpu"),
                       "humaneval", problems, generations, work / "generate")
    evaluation = evaluate(problems, read_samples(generations, "humaneval"), EvaluateConfig(),
                          EvaluateRuntime(workers=1, cache=False, cache_dir=str(work / "cache")))
    return evaluation.metrics, read_jsonl(generations)
