"""The whole pipeline, `dvc repro` in a fresh copy of the repository with a smaller profile; an
experiment on a copy of that reproduced repository."""

import json
from pathlib import Path

import pytest

from evolcoder.config import read_yaml
from tests.support.repo_copy import dvc
from tests.support.small_pipeline import MBPP_TEST, N_TASKS


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_dvc_repro_writes_every_output(pipeline):
    dest = pipeline
    assert _rows(dest / "data/seed/seed.jsonl")
    assert _rows(dest / "data/dataset/train.jsonl")
    assert (dest / "models/checkpoint/config.json").is_file()
    assert json.loads((dest / "metrics/train.json").read_text())["steps"] == 4
    generations = _rows(dest / "data/generations/humaneval.jsonl")
    assert [r["task_id"] for r in generations] == [f"HumanEval/{i}" for i in range(N_TASKS)]
    assert len(_rows(dest / "data/eval/humaneval.jsonl")) == N_TASKS
    metrics = json.loads((dest / "metrics/humaneval.json").read_text())
    assert metrics["n_tasks"] == N_TASKS and 0 <= metrics["pass@1"] <= 1
    report = (dest / "metrics/report.md").read_text()
    assert "| Model | HumanEval | HumanEval+ | MBPP | MBPP+ |" in report and "DRY RUN" in report
    lock = read_yaml(dest / "dvc.lock")["stages"]
    model_md5 = next(d["md5"] for d in lock["generate@humaneval"]["deps"] if d["path"] == "models/checkpoint")
    assert model_md5 in report
    assert json.loads((dest / "metrics/passk.json").read_text())[0]["label"] == "humaneval pass@1"


@pytest.mark.slow
def test_mbpp_runs_when_its_path_is_set(pipeline):
    if not MBPP_TEST.is_file():
        pytest.skip(f"{MBPP_TEST} is absent")
    rows = _rows(pipeline / "data/eval/mbpp.jsonl")
    assert [r["task_id"] for r in rows] == [f"Mbpp/{i}" for i in range(11, 11 + N_TASKS)]
    assert json.loads((pipeline / "metrics/mbpp.json").read_text())["n_tasks"] == N_TASKS
    assert "| Model | HumanEval | HumanEval+ | MBPP | MBPP+ |" in (pipeline / "metrics/report.md").read_text()


@pytest.mark.slow
def test_second_repro_does_nothing(pipeline):
    assert "Running stage" not in dvc(pipeline, "repro")
    assert "up to date" in dvc(pipeline, "status")


@pytest.mark.slow
def test_exp_run_with_a_new_lr_reruns_train_and_after(pipeline_copy):
    repo = pipeline_copy
    out = dvc(repo, "exp", "run", "-S", "train.lr=2e-5")
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    assert {"train", "generate@humaneval", "evaluate@humaneval", "report"} <= ran
    assert not ran & {"seed", "evolve", "dataset"}
    shown = json.loads(dvc(repo, "exp", "show", "--json"))
    lrs = [exp["data"]["params"]["params.yaml"]["data"]["train"]["lr"]
           for commit in shown for exp in [commit, *[e["revs"][0] for e in commit.get("experiments") or []]]
           if exp.get("data")]
    assert 2e-5 in lrs and all(isinstance(lr, float) for lr in lrs)
    assert "pass@1" in dvc(repo, "metrics", "diff", "HEAD", "--all")
    dvc(repo, "plots", "show", "-o", "plots_out")
    assert (repo / "plots_out/index.html").is_file()
