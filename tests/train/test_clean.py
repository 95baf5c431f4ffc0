"""`evolcoder train --clean`: old run folders go, with the space they took; the run DVC's
model came from, the run this recipe would resume, the one train.continue_from names and any a
training is running in stay."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from evolcoder.cli import main
from evolcoder.config import load_section
from evolcoder.errors import EvolcoderError
from evolcoder.jsonl import write_jsonl
from evolcoder.train.config import ModelConfig, TrainConfig
from evolcoder.train.runner import training_record
from evolcoder.train.workdir import holding, key_of
from tests.support.data import REPO_ROOT


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A working folder of the train stage (the current one): params.yaml, training data, DeepSpeed configs."""
    params = {"model": {"init": "scratch"}, "train": {"max_steps": 4},
              "runtime": {"train": {"work_dir": ".work/train"}}}
    YAML().dump(params, tmp_path / "params.yaml")
    write_jsonl(tmp_path / "data/dataset/train.jsonl", [{"id": "a", "instruction": "Add.", "input": "", "output": "x+y"}])
    shutil.copytree(REPO_ROOT / "configs/deepspeed", tmp_path / "configs/deepspeed")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_folder(project: Path, name: str, megabytes: int = 0) -> Path:
    folder = project / ".work/train" / name
    (folder / "checkpoint-2").mkdir(parents=True)
    (folder / "checkpoint-2" / "optimizer.pt").write_bytes(b"\0" * megabytes * 10**6)
    return folder


def clean(monkeypatch, capsys, *args: str) -> list[str]:
    """What `evolcoder train --clean ARGS` prints, run in the project folder."""
    assert main(["train", "--clean", *args]) == 0
    return capsys.readouterr().out.splitlines()


def test_clean_keeps_the_current_and_dvcs_runs_and_removes_the_others(project, monkeypatch, capsys):
    model = load_section(project / "params.yaml", "model", ModelConfig)
    train = load_section(project / "params.yaml", "train", TrainConfig)
    current = run_folder(project, key_of(training_record(model, train, Path("data/dataset/train.jsonl"))))
    dvcs = run_folder(project, "d0d0d0d0d0d0d0d0")
    (project / "models/checkpoint").mkdir(parents=True)
    (project / "models/checkpoint/params.json").write_text(json.dumps({"run_key": dvcs.name}))
    old = run_folder(project, "0123456789abcdef", megabytes=20)
    running = run_folder(project, "feedfeedfeedfeed", megabytes=10)

    dry = clean(monkeypatch, capsys, "--dry-run")
    assert f"train clean: would remove .work/train/{old.name} (0.02 GB)" in dry
    assert dry[-1] == "train clean: would free 0.03 GB in 2 run folder(s) under .work/train"
    assert old.is_dir() and running.is_dir()

    with holding(running):  # a training of another recipe, started before params.yaml changed
        lines = clean(monkeypatch, capsys)
    assert lines == sorted([
        f"train clean: kept .work/train/{current.name}: the run of params.yaml's recipe, data/dataset/train.jsonl "
        "and this code (`dvc repro train` resumes it)",
        f"train clean: kept .work/train/{dvcs.name}: models/checkpoint was trained in it (the model DVC tracks)",
        f"train clean: removed .work/train/{old.name} (0.02 GB)",
        f"train clean: kept .work/train/{running.name}: a training is running in it",
    ], key=lambda line: line.split(".work/train/")[1]) + [
        "train clean: freed 0.02 GB in 1 run folder(s) under .work/train"]
    assert not old.exists() and current.is_dir() and dvcs.is_dir() and running.is_dir()


def test_a_run_folder_is_trained_by_one_process_at_a_time(tmp_path):
    with holding(tmp_path):
        with pytest.raises(EvolcoderError, match="being trained by another process"):
            with holding(tmp_path):
                pass
    with holding(tmp_path):  # released
        pass
