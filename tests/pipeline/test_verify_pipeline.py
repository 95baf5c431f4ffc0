"""`dvc exp run -S verify.mode=run` reruns verify and what follows, never seed or evolve."""

import json

import pytest
from ruamel.yaml import YAML

from evolcoder.config import read_yaml
from tests.support.repo_copy import commit_all, copy_repo, dvc

SMALL = {"seed": {"limit": 16}, "evolve": {"rounds": 1}, "dataset": {"rounds": [0, 1]}, "verify": {"mode": "none"}}


@pytest.mark.slow
def test_exp_run_with_another_verify_mode_reruns_verify_and_after_only(tmp_path):
    dest = tmp_path / "repo"
    copy_repo(dest)
    params = read_yaml(dest / "params.yaml")
    for section, values in SMALL.items():
        params[section].update(values)
    YAML().dump(params, dest / "params.yaml")
    dvc(dest, "repro", "dataset")
    assert json.loads((dest / "metrics/verify.json").read_text())["skipped"] == 16 + 16
    commit_all(dest, "repro")

    out = dvc(dest, "exp", "run", "dataset", "-S", "verify.mode=run")
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    assert ran == {"verify", "dataset"}
    metrics = json.loads((dest / "metrics/verify.json").read_text())
    assert metrics["mode"] == "run" and metrics["passed"] > 0 and metrics["skipped"] == 0
