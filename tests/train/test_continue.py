"""train.continue_from: a run of changed code starts from another run's checkpoint, on purpose and
recorded; refused when anything but the code differs. Run folders are made as the runner makes
them (run.json), with a stand-in checkpoint: what decides, links and records needs no DeepSpeed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from evolcoder.config import ConfigError
from evolcoder.jsonl import write_jsonl
from evolcoder.train import workdir
from evolcoder.train.config import TrainConfig
from evolcoder.train.workdir import CONTINUED, continue_run, last_checkpoint, prepare_run_dir, run_record

PARAMS = {"model": {"init": "scratch"}, "train": {"lr": 0.002, "max_steps": 6, "continue_from": None}}


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """Training data and a DeepSpeed config; the working folder."""
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "train.jsonl", [{"id": "a", "instruction": "Add.", "input": "", "output": "x + y"}])
    (tmp_path / "ds.json").write_text('{"zero_optimization": {"stage": 3}}')
    return tmp_path


def make_run(project: Path, code: str, monkeypatch, params: dict = PARAMS, steps: tuple[int, ...] = ()) -> Path:
    """A run folder of `params` trained by code `code`, with finished checkpoints at `steps` and an initial model."""
    monkeypatch.setattr(workdir, "code_version", lambda: code)
    run_dir = prepare_run_dir(project / "work", run_record(params, project / "train.jsonl", project / "ds.json"))
    for step in steps:
        checkpoint = run_dir / f"checkpoint-{step}"
        checkpoint.mkdir()
        (checkpoint / "trainer_state.json").write_text(json.dumps({"global_step": step}))
        (checkpoint / "weights.bin").write_bytes(os.urandom(4096))
    (run_dir / "init").mkdir()
    (run_dir / "init" / "tokenizer.json").write_text("{}")
    return run_dir


def with_continue(source: str) -> dict:
    return {**PARAMS, "train": {**PARAMS["train"], "continue_from": source}}


def test_a_run_of_changed_code_starts_from_the_named_runs_last_checkpoint(project, monkeypatch):
    old = make_run(project, "code before the fix", monkeypatch, steps=(2, 4))
    new = make_run(project, "code after the fix", monkeypatch, params=with_continue(old.name))
    assert continue_run(new, old.name, project / "work") == {
        "continued_from": f"{old.name}/checkpoint-4", "continued_code_differs": True}
    assert last_checkpoint(new) == new / "checkpoint-4"  # where the Trainer resumes
    linked = new / "checkpoint-4" / "weights.bin"
    assert linked.read_bytes() == (old / "checkpoint-4" / "weights.bin").read_bytes()
    assert os.stat(linked).st_ino == os.stat(old / "checkpoint-4" / "weights.bin").st_ino  # a hard link, no copy
    assert (new / "init" / "tokenizer.json").is_file()  # a scratch model keeps the tokenizer it was trained with
    assert json.loads((new / CONTINUED).read_text())["continued_from"] == f"{old.name}/checkpoint-4"


def test_a_checkpoint_can_be_named_and_a_restart_keeps_what_the_first_start_recorded(project, monkeypatch):
    old = make_run(project, "old", monkeypatch, steps=(2, 4))
    new = make_run(project, "new", monkeypatch, params=with_continue(f"{old.name}/checkpoint-2"))
    first = continue_run(new, f"{old.name}/checkpoint-2", project / "work")
    assert first["continued_from"] == f"{old.name}/checkpoint-2" and last_checkpoint(new).name == "checkpoint-2"
    (new / "checkpoint-3").mkdir()  # the continued run saved its own checkpoint, then was killed
    (new / "checkpoint-3" / "trainer_state.json").write_text("{}")
    assert continue_run(new, f"{old.name}/checkpoint-2", project / "work") == first
    assert last_checkpoint(new).name == "checkpoint-3"  # its own, not the other run's again


def test_the_same_code_continues_and_says_so(project, monkeypatch):
    old = make_run(project, "same", monkeypatch, steps=(4,))
    new = make_run(project, "same", monkeypatch, params=with_continue(old.name))
    assert continue_run(new, old.name, project / "work")["continued_code_differs"] is False


def test_a_run_of_another_recipe_is_refused_naming_what_differs(project, monkeypatch):
    other = {**PARAMS, "train": {**PARAMS["train"], "lr": 0.001}}
    old = make_run(project, "old", monkeypatch, params=other, steps=(4,))
    new = make_run(project, "new", monkeypatch, params=with_continue(old.name))
    with pytest.raises(ConfigError, match=r"^train\.continue_from: .*train\.lr: 0\.001 there, 0\.002 here") as e:
        continue_run(new, old.name, project / "work")
    assert "continue_from" not in str(e.value).split("(")[1].split(")")[0]  # not a difference of the recipe
    assert not (new / "checkpoint-4").exists() and not (new / CONTINUED).exists()


def test_other_training_data_is_refused(project, monkeypatch):
    old = make_run(project, "old", monkeypatch, steps=(4,))
    write_jsonl(project / "train.jsonl", [{"id": "b", "instruction": "Sub.", "input": "", "output": "x - y"}])
    new = make_run(project, "new", monkeypatch, params=with_continue(old.name))
    with pytest.raises(ConfigError, match="the training data"):
        continue_run(new, old.name, project / "work")


def test_a_missing_checkpoint_lists_the_runs_that_have_one(project, monkeypatch):
    old = make_run(project, "old", monkeypatch, steps=(4,))
    new = make_run(project, "new", monkeypatch, params=with_continue("0123456789abcdef"))
    with pytest.raises(ConfigError, match=rf"no finished checkpoint .*{old.name} \(checkpoint-4\).*null to start"):
        continue_run(new, "0123456789abcdef", project / "work")


def test_continue_from_is_part_of_the_recipe_and_must_name_something():
    from evolcoder.config import from_dict, recipe

    assert recipe(from_dict(TrainConfig, {"continue_from": "ab12/checkpoint-4"}, prefix="train"))[
        "continue_from"] == "ab12/checkpoint-4"
    with pytest.raises(ConfigError, match="train.continue_from"):
        from_dict(TrainConfig, {"continue_from": " "}, prefix="train")
