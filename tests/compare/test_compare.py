"""`evolcoder compare`: the tasks whose verdict differs between two evaluation results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support.data import shared_file

from evolcoder.benchmarks import load_benchmark
from evolcoder.cli import main as cli_main
from evolcoder.compare.compare import compare
from evolcoder.compare.results import load_results
from evolcoder.evaluate.config import EvaluateConfig, EvaluateRuntime
from evolcoder.evaluate.evaluate import evaluate
from evolcoder.evaluate.output import write_evaluation
from evolcoder.evaluate.samples import read_samples
from evolcoder.jsonl import read_jsonl, write_jsonl
from evolcoder.templates import response_of

BROKEN = ["HumanEval/0", "HumanEval/2"]  # passed in WizardCoder-15B's outputs; broken in the copy
FIXED = "HumanEval/1"  # failed there; the canonical solution in the copy


def score(samples: list[dict], folder: Path, cache: Path) -> Path:
    """Score HumanEval samples as `evolcoder evaluate --out folder` does; the results file."""
    write_jsonl(folder / "samples.jsonl", samples)
    runtime = EvaluateRuntime(workers=2, cache_dir=str(cache))
    evaluation = evaluate(load_benchmark("humaneval"), read_samples(folder / "samples.jsonl", "humaneval"),
                          EvaluateConfig(), runtime)
    write_evaluation(evaluation, folder / "results.jsonl", folder / "metrics.json")
    return folder / "results.jsonl"


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """WizardCoder-15B's published greedy HumanEval outputs scored by our evaluation, and a copy
    with three responses changed, scored the same way (the unchanged samples come from the cache)."""
    published = shared_file("wizardcoder15b_humaneval_greedy.jsonl")
    rows = read_jsonl(published)
    verdicts = {r["task_id"]: r["passed"] for r in rows}
    assert all(verdicts[t] for t in BROKEN) and not verdicts[FIXED]
    problems = {p.task_id: p for p in load_benchmark("humaneval")}
    samples = [{"task_id": r["task_id"], "response": response_of(r["all_code"])} for r in rows]
    replaced = {**{t: "```python\ndef nothing():\n    pass\n```" for t in BROKEN},
                FIXED: f"```python\n{problems[FIXED].reference}\n```"}
    changed = [dict(s, response=replaced.get(s["task_id"], s["response"])) for s in samples]
    root, cache = tmp_path_factory.mktemp("compare"), tmp_path_factory.mktemp("cache")
    (root / "ours").mkdir()
    (root / "changed").mkdir()
    return published, score(samples, root / "ours", cache), score(changed, root / "changed", cache)


def compare_output(capsys, a: Path | str, b: Path | str) -> str:
    """What `evolcoder compare A B` prints; it must succeed."""
    assert cli_main(["compare", str(a), str(b)]) == 0
    return capsys.readouterr().out


def test_our_scoring_of_a_release_s_outputs_agrees_with_its_published_verdicts(scored, capsys):
    published, ours, _ = scored
    out = compare_output(capsys, published, ours)
    assert "pass@1: A 59.8, B 59.8 (B - A: +0.0 points)" in out
    assert "passed in A only: 0, passed in B only: 0, unchanged: 164 of 164 tasks in both" in out


def test_the_flipped_tasks_are_named_with_counts_per_direction(scored, capsys):
    _, ours, changed = scored
    out = compare_output(capsys, ours, changed)
    assert "pass@1: A 59.8, B 59.1 (B - A: -0.6 points)" in out
    assert "passed in A only: 2, passed in B only: 1, unchanged: 161 of 164 tasks in both" in out
    table = out[out.index("  task "):].splitlines()
    assert [line.split() for line in table] == [["task", "A", "B"], ["HumanEval/0", "pass", "fail"],
                                                ["HumanEval/1", "fail", "pass"], ["HumanEval/2", "pass", "fail"]]


def write_results(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_with_several_samples_a_task_s_figure_is_its_pass_fraction(tmp_path):
    a = [{"task_id": "Mbpp/2", "sample": s, "passed": p} for s, p in enumerate([True, True, False, False])]
    a += [{"task_id": "Mbpp/10", "sample": s, "passed": True} for s in range(4)]
    b = [{"task_id": "Mbpp/2", "sample": s, "passed": p} for s, p in enumerate([True, True, True, False])]
    b += [{"task_id": "Mbpp/10", "sample": s, "passed": True} for s in range(4)]
    b += [{"task_id": "Mbpp/11", "sample": 0, "passed": False}]
    result = compare(load_results(write_results(tmp_path / "a.jsonl", a)),
                     load_results(write_results(tmp_path / "b.jsonl", b)))
    (metric,) = result.metrics
    assert metric.changed.to_dict("index") == {"Mbpp/2": {"A": 0.5, "B": 0.75}}
    assert metric.better_in_b == ["Mbpp/2"] and metric.better_in_a == [] and result.only_in_b == ["Mbpp/11"]
    assert (metric.pass_a, metric.pass_b) == (0.75, pytest.approx((0.75 + 1 + 0) / 3))


def test_evalplus_results_compare_base_and_plus_verdicts(tmp_path, capsys):
    def row(task, base, plus):
        return {"task_id": task, "sample": 0, "passed": plus, "base_passed": base, "plus_passed": plus}

    a = write_results(tmp_path / "a.jsonl", [row("HumanEval/0", True, True), row("HumanEval/1", True, False)])
    b = write_results(tmp_path / "b.jsonl", [row("HumanEval/0", True, False), row("HumanEval/1", True, False)])
    plain = write_results(tmp_path / "plain.jsonl", [{"task_id": "HumanEval/0", "passed": False},
                                                      {"task_id": "HumanEval/1", "passed": True}])
    result = compare(load_results(a), load_results(b))
    assert [(m.metric, m.better_in_a) for m in result.metrics] == [("pass@1", []), ("plus_pass@1", ["HumanEval/0"])]
    against_plain = compare(load_results(a), load_results(plain))  # EvalPlus's base tests vs a plain verdict
    assert [(m.metric, m.better_in_a) for m in against_plain.metrics] == [("pass@1", ["HumanEval/0"])]


@pytest.mark.parametrize("content, message", [
    ('{"task_id": "HumanEval/0", "passed": true}\n{"task_id": "HumanEval/1"}\n',
     r'r.jsonl:2: expected an evaluation result with "task_id" and a true/false "passed"'),
    ('{"task_id": "HumanEval/0", "passed": true}\n{"task_id": \n', r"r.jsonl:2: malformed JSON"),
    ("", r"r.jsonl: no results in it"),
])
def test_a_file_that_is_not_results_is_named_with_its_line(tmp_path, capsys, content, message):
    import re

    (tmp_path / "r.jsonl").write_text(content)
    assert cli_main(["compare", str(tmp_path / "r.jsonl"), str(tmp_path / "r.jsonl")]) == 2
    assert re.search(message, capsys.readouterr().err)


def test_a_path_that_is_neither_a_file_nor_rev_path_says_what_is_accepted(tmp_path, capsys):
    assert cli_main(["compare", str(tmp_path / "none.jsonl"), str(tmp_path / "none.jsonl")]) == 2
    assert "no such file; give a results file" in capsys.readouterr().err


@pytest.mark.slow
def test_rev_path_reads_a_dvc_tracked_result_at_an_earlier_commit(tmp_path, monkeypatch, capsys):
    from tests.support.repo_copy import commit_all, dvc, git

    results = tmp_path / "data/eval/humaneval.jsonl"
    results.parent.mkdir(parents=True)
    git(tmp_path, "init", "-q")
    dvc(tmp_path, "init", "-q")
    for verdicts in ([True, False, True], [True, True, False]):
        write_results(results, [{"task_id": f"HumanEval/{i}", "passed": p} for i, p in enumerate(verdicts)])
        dvc(tmp_path, "add", "-q", "data/eval/humaneval.jsonl")
        commit_all(tmp_path, "results")
    monkeypatch.chdir(tmp_path)
    out = compare_output(capsys, "HEAD~1:data/eval/humaneval.jsonl", "data/eval/humaneval.jsonl")
    assert "passed in A only: 1, passed in B only: 1" in out and "HumanEval/1" in out and "HumanEval/2" in out
    assert cli_main(["compare", "no-such-rev:data/eval/humaneval.jsonl", "data/eval/humaneval.jsonl"]) == 2
    assert "no-such-rev:data/eval/humaneval.jsonl: cannot read data/eval/humaneval.jsonl at revision 'no-such-rev'" \
        in capsys.readouterr().err


def test_results_of_different_benchmarks_are_refused(tmp_path, capsys):
    humaneval = write_results(tmp_path / "he.jsonl", [{"task_id": "HumanEval/0", "passed": True}])
    mbpp = write_results(tmp_path / "mbpp.jsonl", [{"task_id": "Mbpp/2", "passed": True}])
    assert cli_main(["compare", humaneval, mbpp]) == 2
    assert "share no task id (first ones: HumanEval/0 and Mbpp/2)" in capsys.readouterr().err
