"""Every number traced to hashed inputs: two clones of the small pipeline, each reproduced from
scratch, the second as on another machine (tests/support/small_pipeline.py), give the same bytes; and
on a copy of the reproduced one, runtime knobs rerun nothing, an edited input file shows in `dvc
status`, and a score names the model it was generated from."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from evolcoder.config import read_yaml
from tests.support.repo_copy import dvc, git

pytestmark = pytest.mark.slow
RUNTIME = {
    "llm": {"concurrency": 3, "max_retries": 1, "timeout_s": 30.0, "requests_per_minute": 100},
    "generate": {"num_shards": 2, "batch_size": 3, "device": "cpu", "server": {"concurrency": 2}},
    "evaluate": {"workers": 1, "cache": False, "cache_dir": "/nonexistent-cache"},
    "train": {"logging_steps": 2, "save_steps": 3, "save_total_limit": 1, "work_dir": ".work/elsewhere"},
}


def out_hashes(lock: dict) -> dict[str, str]:
    return {f"{stage}: {out['path']}": out["md5"] for stage, entry in lock["stages"].items()
            for out in entry.get("outs", [])}


def changed_stages(repo: Path) -> set[str]:
    """The stages `dvc status` reports (their names end with ':' at the start of a line)."""
    return {line[:-1] for line in dvc(repo, "status").splitlines() if line.endswith(":") and not line.startswith("\t")}


# second_pipeline first: under pytest-xdist this worker builds it while another builds `pipeline`
def test_two_clones_on_unlike_machines_record_the_same_md5_for_every_output(second_pipeline, pipeline):
    first, second = (out_hashes(read_yaml(repo / "dvc.lock")) for repo in (pipeline, second_pipeline))
    assert first.keys() == second.keys()
    differ = sorted(key for key in first if first[key] != second[key])
    assert not differ, f"outputs whose md5 differs between the clones on unlike machines: {differ}"


def test_changing_runtime_knobs_reruns_nothing(pipeline_copy):
    repo = pipeline_copy
    params = read_yaml(repo / "params.yaml")
    for section, knobs in RUNTIME.items():
        params["runtime"][section].update(knobs)
    YAML().dump(params, repo / "params.yaml")
    assert changed_stages(repo) == set()


def test_an_edited_seed_or_benchmark_file_shows_in_dvc_status(pipeline_copy):
    repo = pipeline_copy
    seed_file = repo / "evolcoder/seed/builtin_seeds.jsonl"
    seed_file.write_text(seed_file.read_text() + seed_file.read_text().splitlines(True)[0].replace("Write", "Now write"))
    benchmark = repo / "data/benchmarks/humaneval.jsonl"
    benchmark.write_text("".join(benchmark.read_text().splitlines(True)[:-1]))
    try:
        assert {"seed", "dataset", "generate@humaneval", "evaluate@humaneval"} <= changed_stages(repo)
    finally:
        git(repo, "checkout", str(seed_file))
        dvc(repo, "checkout", "--force", str(benchmark.relative_to(repo)))
    assert changed_stages(repo) == set()


def test_a_score_names_the_model_it_was_generated_from(pipeline_copy, tiny_checkpoint):
    repo = pipeline_copy
    shutil.copytree(tiny_checkpoint, repo / "models/other")
    params = read_yaml(repo / "params.yaml")
    params["generate"]["model"] = "models/other"
    YAML().dump(params, repo / "params.yaml")
    ran = dvc(repo, "repro")
    assert "Running stage 'train'" not in ran and "Running stage 'generate@humaneval'" in ran
    lock = read_yaml(repo / "dvc.lock")["stages"]
    deps = {d["path"]: d["md5"] for d in lock["generate@humaneval"]["deps"]}
    assert "models/checkpoint" not in deps
    report = (repo / "metrics/report.md").read_text()
    assert f"| `models/other` | `{deps['models/other']}` |" in report
    assert "pass@1" in dvc(repo, "metrics", "diff", "HEAD", "--all")
