"""A hotfix does not restart a run from step 0: real DeepSpeed ranks on the CPU (the tiny model of
tests/train/test_run.py), one run killed in spirit after its checkpoints, then the train stage run
from a copy of the code with one line changed, continuing that run's checkpoint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from tests.support.train_stage import loss_curve, make_project

from evolcoder.config import load_runtime, load_section
from evolcoder.train.config import ModelConfig, TrainConfig, TrainRuntime
from evolcoder.train.runner import RunPaths, run_training
from tests.support.data import REPO_ROOT

pytestmark = pytest.mark.slow


def hotfixed_code(folder: Path) -> Path:
    """The project's code with one changed line in the training package: a new code version."""
    for package in ("evolcoder", "stages"):
        shutil.copytree(REPO_ROOT / package, folder / package, ignore=shutil.ignore_patterns("__pycache__"))
    worker = folder / "evolcoder" / "train" / "worker.py"
    worker.write_text(worker.read_text() + "\n# a hotfix\n")
    return folder


def test_a_hotfixed_run_continues_the_old_runs_checkpoint_and_its_metrics_say_so(tmp_path, monkeypatch):
    root = make_project(tmp_path / "project", max_steps=6, save_steps=2)
    monkeypatch.chdir(root)
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    model = load_section("params.yaml", "model", ModelConfig)
    train = load_section("params.yaml", "train", TrainConfig)
    runtime = load_runtime("params.yaml", "train", TrainRuntime)
    old = run_training(model, train, runtime, RunPaths(Path("data/dataset/train.jsonl"), root / "old", root / "old_curves"))
    source = f"{old['run_key']}/checkpoint-4"  # as if it had been killed after step 4

    params = YAML().load(root / "params.yaml")
    params["train"]["continue_from"] = source
    YAML().dump(params, root / "params.yaml")
    env = dict(os.environ, PYTHONPATH=str(hotfixed_code(tmp_path / "code")))
    result = subprocess.run([sys.executable, "-m", "stages.train"], cwd=root, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    metrics = json.loads((root / "metrics/train.json").read_text())
    assert metrics["continued_from"] == source and metrics["continued_code_differs"] is True
    assert metrics["steps"] == 6 and "resumed from step 4" in result.stdout
    assert f"train: continuing {source}, trained by other code" in result.stdout
    assert [step for step, _ in loss_curve(root)] == list(range(1, 7))  # steps 1-4 from the old run, once
    assert json.loads((root / "models/checkpoint/params.json").read_text())["train"]["continue_from"] == source
    assert (root / ".work/train" / source / "trainer_state.json").is_file()  # the old run's checkpoint is intact
