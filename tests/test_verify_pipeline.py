"""`dvc exp run -S verify.mode=run` reruns verify and what follows, never seed or evolve."""

import json

import pytest
from ruamel.yaml import YAML

from evolcoder.config import read_yaml
from test_pipeline_e2e import _copy_repo, _dvc, _git

SMALL = {"seed": {"limit": 16}, "evolve": {"rounds": 1}, "dataset": {"rounds": [0, 1]}, "verify": {"mode": "none"}}


@pytest.mark.slow
def test_exp_run_with_another_verify_mode_reruns_verify_and_after_only(tmp_path):
    dest = tmp_path / "repo"
    _copy_repo(dest)
    params = read_yaml(dest / "params.yaml")
    for section, values in SMALL.items():
        params[section].update(values)
    YAML().dump(params, dest / "params.yaml")
    _dvc(dest, "repro", "dataset")
    assert json.loads((dest / "metrics/verify.json").read_text())["skipped"] == 16 + 16
    _git(dest, "add", "-A")
    _git(dest, "-c", "user.name=e2e", "-c", "user.email=e2e@localhost", "commit", "-qm", "repro")

    out = _dvc(dest, "exp", "run", "dataset", "-S", "verify.mode=run")
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    assert ran == {"verify", "dataset"}
    metrics = json.loads((dest / "metrics/verify.json").read_text())
    assert metrics["mode"] == "run" and metrics["passed"] > 0 and metrics["skipped"] == 0
