"""Choosing how many evolution rounds to merge without touching the test sets: a queue of two
merges scored on MBPP's validation tasks only, the best one picked by `dvc exp show --sort-by`,
and the test benchmarks scored for that experiment alone (its training set unchanged)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from ruamel.yaml import YAML

from tests.support.data import SHARED_DATA
from evolcoder.config import read_yaml
from evolcoder.jsonl import read_jsonl, write_jsonl
from tests.support.repo_copy import commit_all, dvc, edit_params

pytestmark = pytest.mark.slow
MBPP_ALL = SHARED_DATA / "mbpp.jsonl"
VALID_TASKS = 10


def setter(**sections) -> Callable[[dict], None]:
    """An edit of params that sets each `section__key=value`."""
    def set_values(params: dict) -> None:
        for dotted, value in sections.items():
            *parents, last = dotted.split("__")
            target = params
            for key in parents:
                target = target[key]
            target[last] = value

    return set_values


def set_params(repo, **sections) -> None:
    """Edit params.yaml itself, for a `dvc repro` (the next `dvc exp run` recomposes it from conf/)."""
    params = read_yaml(repo / "params.yaml")
    setter(**sections)(params)
    YAML().dump(params, repo / "params.yaml")


def test_rounds_are_chosen_on_mbpp_valid_then_the_test_sets_are_scored_once(pipeline_copy):
    if not MBPP_ALL.is_file():
        pytest.skip(f"{MBPP_ALL} is absent (MBPP's validation tasks come from it)")
    repo = pipeline_copy
    valid = [row for row in read_jsonl(MBPP_ALL) if 511 <= row["task_id"] <= 600][:VALID_TASKS]
    write_jsonl(repo / "data/benchmarks/mbpp_valid.jsonl", valid)
    # the defaults the queued experiments compose from
    edit_params(repo, setter(benchmarks=["mbpp_valid"], dataset__decontam__benchmarks=["humaneval", "mbpp"]))
    dvc(repo, "repro")
    commit_all(repo, "score mbpp_valid only; the training set is cleaned against the test sets too")

    for rounds, name in (("[0]", "seed-only"), ("[0,1]", "seed-and-round-1")):
        dvc(repo, "exp", "run", "--queue", "-n", name, "-S", f"dataset.rounds={rounds}")
    dvc(repo, "exp", "run", "--run-all", timeout=900)  # one after another, following their logs until the last ends
    status = dvc(repo, "queue", "status")
    assert "Failed" not in status and "Success" in status, status

    table = list(csv.DictReader(io.StringIO(dvc(repo, "exp", "show", "--csv", "--sort-by",
                                                "metrics/mbpp_valid.json:pass@1", "--sort-order", "desc"))))
    runs = [row for row in table if row["Experiment"] in ("seed-only", "seed-and-round-1")]
    assert len(runs) == 2 and all(row["pass@1"] != "" for row in runs), table
    best = max(runs, key=lambda row: float(row["pass@1"]))["Experiment"]

    dvc(repo, "exp", "apply", best)
    chosen = read_yaml(repo / "dvc.lock")["stages"]["train"]
    set_params(repo, benchmarks=["mbpp_valid", "humaneval", "mbpp"])
    ran = dvc(repo, "repro")
    assert "Running stage 'train'" not in ran and "Running stage 'generate@mbpp_valid'" not in ran
    lock = read_yaml(repo / "dvc.lock")["stages"]
    assert lock["train"]["outs"] == chosen["outs"], "scoring the test sets must not change the model"
    model = next(out["md5"] for out in chosen["outs"] if out["path"] == "models/checkpoint")
    for bench in ("humaneval", "mbpp"):  # run now, or restored from DVC's run-cache for this very model
        deps = {dep["path"]: dep["md5"] for dep in lock[f"generate@{bench}"]["deps"]}
        assert deps["models/checkpoint"] == model and (repo / f"metrics/{bench}.json").is_file()
