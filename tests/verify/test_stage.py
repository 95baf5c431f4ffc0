"""The verify stage on the real Code Alpaca 2k sample: every label, the dataset's choice by
label, and `tests` mode through the loopback teacher, whose calls a settings change never resends."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.data import REPO_ROOT, shared_file
from evolcoder.benchmarks import get
from evolcoder.dataset.dataset import UNVERIFIED
from evolcoder.jsonl import read_jsonl, write_jsonl
from evolcoder.files.records import LABELS
from tests.support.llm_server import LLMServer
from evolcoder.files.paths import VerifyFiles

FILES = VerifyFiles()
EARLIER_REASONS = ("dry_run", "empty", "non_code")  # dataset checks that come before verification


def write_params(workdir: Path, **sections: dict) -> None:
    params = {
        "seed": {"source": str(shared_file("code_alpaca_2k.json")), "shuffle_seed": None},
        "evolve": {"rounds": 1, "limit": 100},
        "llm": {"provider": "dry-run"},
        "verify": {"mode": "run", "timeout_s": 1.0},
        "dataset": {"rounds": [0, 1], "drop_non_code": False},
        "benchmarks": ["humaneval"],
        "model": {"init": "scratch"},
        "train": {"max_length": 2048},
    }
    for name, values in sections.items():
        params[name] = {**params[name], **values}
    (workdir / "params.yaml").write_text(json.dumps(params))  # JSON is YAML
    write_jsonl(workdir / "data/benchmarks/humaneval.jsonl", get("humaneval").public_rows())


def run(workdir: Path, *stages: str) -> str:
    out = ""
    for name in stages:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        done = subprocess.run([sys.executable, "-m", f"stages.{name}"], cwd=workdir, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"stage {name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        out += done.stdout
    return out


def labelled(workdir: Path) -> dict[str, dict]:
    """Every labelled row of data/verify/rows, by id."""
    return {row["id"]: row for path in sorted((workdir / FILES.out_dir).glob("*.jsonl")) for row in read_jsonl(path)}


@pytest.fixture(scope="module")
def alpaca(tmp_path_factory) -> Path:
    """The 2k sample seeded, one dry-run round over its first 100 rows, verified in `run` mode."""
    workdir = tmp_path_factory.mktemp("alpaca")
    write_params(workdir)
    run(workdir, "seed", "evolve", "verify")
    return workdir


@pytest.mark.slow
def test_every_row_gets_a_label_and_real_answers_get_theirs(alpaca):
    rows = labelled(alpaca)
    seed = read_jsonl(alpaca / "data/seed/seed.jsonl")
    evolved = read_jsonl(alpaca / "data/evol/round_1.jsonl")
    assert len(rows) == len(seed) + len(evolved) and len(evolved) == 100 and len(seed) > 2000
    assert all(r["verified"] in LABELS and isinstance(r["verify_detail"], dict) for r in rows.values())
    counts = {label: sum(r["verified"] == label for r in rows.values()) for label in LABELS}
    assert all(counts[label] for label in ("passed", "failed", "timeout", "no_code", "not_python")), counts
    by_instruction = {r["instruction"]: r for r in seed}

    def label_of(prefix: str) -> tuple[str, dict]:
        row = rows[next(r["id"] for text, r in by_instruction.items() if text.startswith(prefix))]
        return row["verified"], row["verify_detail"]

    assert label_of("Find the maximum of three input numbers")[0] == "passed"
    assert label_of("Write a SQL query to join two tables together")[1]["language"] == "sql"
    assert label_of("What is a data structure commonly used")[0] == "no_code"
    assert label_of("Create a code to create a progress bar")[1]["error"] == "wall clock 1s exceeded"
    verified, detail = label_of("Convert the given string to camelCase")  # it uses the input's variable
    assert verified == "failed" and detail["error"].startswith("NameError: name 'string' is not defined")

    metrics = json.loads((alpaca / FILES.metrics).read_text())
    assert metrics["mode"] == "run" and metrics["rows"] == len(rows)
    assert [metrics[label] for label in LABELS] == [counts[label] for label in LABELS]
    assert metrics["round_0.pass_rate"] == round(
        metrics["round_0.passed"] / sum(metrics[f"round_0.{label}"] for label in ("passed", "failed", "timeout")), 4)
    assert 0 < metrics["method_seed.pass_rate"] < 1 and metrics["method_seed.checked"] > 500
    plot = json.loads((alpaca / FILES.plot).read_text())
    assert plot[0]["group"] == "round 0 seed" and {p["round"] for p in plot} == {0, 1}


@pytest.mark.slow
def test_the_dataset_drops_exactly_the_labelled_rows(alpaca):
    rows = labelled(alpaca)
    write_params(alpaca, dataset={"require_verified": True, "drop_non_python": True})
    run(alpaca, "dataset")
    removed = read_jsonl(alpaca / "data/dataset/removed.jsonl")
    train = read_jsonl(alpaca / "data/dataset/train.jsonl")
    earlier = {r["id"] for r in removed if r["reason"] in EARLIER_REASONS}
    for reason, labels in (("unverified", UNVERIFIED), ("not_python", ("not_python",))):
        dropped = {r["id"] for r in removed if r["reason"] == reason}
        assert dropped == {i for i, r in rows.items() if r["verified"] in labels} - earlier
        assert all(r["detail"]["verified"] == rows[r["id"]]["verified"] for r in removed if r["reason"] == reason)
    assert {rows[r["id"]]["verified"] for r in train} <= {"passed", "skipped"}
    assert all("verified" not in r for r in train)  # training rows keep their schema
    metrics = json.loads((alpaca / "data/dataset/stats.json").read_text())
    assert metrics["dropped_unverified"] == sum(r["reason"] == "unverified" for r in removed) > 0
    assert metrics["dropped_not_python"] == sum(r["reason"] == "not_python" for r in removed) > 0

    write_params(alpaca)  # require_verified false: only not-Python-blind filters drop rows
    run(alpaca, "dataset")
    assert not {r["reason"] for r in read_jsonl(alpaca / "data/dataset/removed.jsonl")} & {"unverified", "not_python"}


def teacher_responder(body: dict) -> str:
    """A stand-in teacher: tests of the first name the prompt's interface shows, which pass,
    fail or do not parse by a hash of the prompt."""
    prompt = body["messages"][-1]["content"]
    interface = prompt.split("### What the solution defines\n```python\n", 1)[1]
    name = re.search(r"^(?:async def|def|class) (\w+)|^(\w+) = \.\.\.", interface, re.MULTILINE)
    name = name.group(1) or name.group(2)
    digest = int(hashlib.sha256(prompt.encode()).hexdigest()[:8], 16)
    body = (f"assert {name} is not None", f"assert {name} is None", f"assert {name} ==")[digest % 3]
    return f"Here are the tests.\n```python\n{body}\n```"


@pytest.mark.slow
def test_tests_mode_through_the_loopback_teacher_and_no_call_resent(tmp_path):
    write_params(tmp_path, seed={"limit": 60}, evolve={"limit": 20})
    run(tmp_path, "seed", "evolve")
    evolve_ledger = (tmp_path / "data/llm_cache/ledger.sqlite").read_bytes()
    with LLMServer(responder=teacher_responder) as server:
        teacher = {"provider": "openai", "base_url": server.url, "api_key_env": None}
        write_params(tmp_path, seed={"limit": 60}, evolve={"limit": 20}, llm=teacher, verify={"mode": "tests"})
        out = run(tmp_path, "verify")
        sent = server.stats()["requests"]
        first = labelled(tmp_path)
        write_params(tmp_path, seed={"limit": 60}, evolve={"limit": 20}, llm=teacher,
                     verify={"mode": "tests", "timeout_s": 2.5, "memory_mb": 1024})
        again = run(tmp_path, "verify")
        assert server.stats()["requests"] == sent  # new verify settings: no call resent
    assert f"this run sent {sent} tests calls" in out and f"sent 0 tests calls (0 failed), {sent} came" in again
    counts = {label: sum(r["verified"] == label for r in first.values()) for label in LABELS}
    assert counts["passed"] and counts["failed"] and counts["skipped"] and counts["not_python"], counts
    asked = [r for r in first.values() if "tests_call" in r["verify_detail"]]
    assert len(asked) == sent
    assert all(r["verify_detail"]["tests_error"].startswith("the test block does not parse")
               for r in asked if r["verified"] == "skipped")
    assert {i: r["verified"] for i, r in labelled(tmp_path).items()} == {i: r["verified"] for i, r in first.items()}
    assert (tmp_path / "data/llm_cache/ledger.sqlite").read_bytes() == evolve_ledger  # evolve's ledger untouched
    metrics = json.loads((tmp_path / FILES.metrics).read_text())
    assert metrics["tests.unusable"] == counts["skipped"] - sum(
        r["verify_detail"].get("reason", "").startswith("nothing to test") for r in first.values())

    shutil.rmtree(tmp_path / FILES.out_dir)  # anyone holding the verify ledger replays the labels offline
    write_params(tmp_path, seed={"limit": 60}, evolve={"limit": 20}, llm={"provider": "replay"}, verify={"mode": "tests"})
    run(tmp_path, "verify")
    assert {i: r["verified"] for i, r in labelled(tmp_path).items()} == {i: r["verified"] for i, r in first.items()}
