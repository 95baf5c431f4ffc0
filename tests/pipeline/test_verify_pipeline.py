"""`dvc exp run -S verify.mode=run` reruns verify and what follows, never seed or evolve."""

import json

import pytest

from tests.support.repo_copy import commit_all, copy_repo, dvc, edit_params

SMALL = {"seed": {"limit": 16}, "evolve": {"rounds": 1}, "dataset": {"rounds": [0, 1]}, "verify": {"mode": "none"}}


def smaller(params: dict) -> None:
    for section, values in SMALL.items():
        params[section].update(values)


@pytest.mark.slow
def test_exp_run_with_another_verify_mode_reruns_verify_and_after_only(tmp_path):
    dest = tmp_path / "repo"
    copy_repo(dest)
    edit_params(dest, smaller)
    dvc(dest, "repro", "dataset")
    assert json.loads((dest / "metrics/verify.json").read_text())["skipped"] == 16 + 16
    commit_all(dest, "repro")

    out = dvc(dest, "exp", "run", "dataset", "-S", "verify.mode=run")
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    assert ran == {"verify", "dataset"}
    metrics = json.loads((dest / "metrics/verify.json").read_text())
    assert metrics["mode"] == "run" and metrics["passed"] > 0 and metrics["skipped"] == 0
