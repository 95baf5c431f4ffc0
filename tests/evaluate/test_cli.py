"""`evolcoder evaluate`, the results cache and the reference check, on HumanEval and MBPP."""

from __future__ import annotations

from dataclasses import replace
import json
import subprocess
import sys

import pytest
from tests.support.data import REPO_ROOT, shared_file

from evolcoder.cli import main
from evolcoder.benchmarks import get, load_benchmark
from evolcoder.exec import Sandbox
from evolcoder.jsonl import read_jsonl, write_jsonl
from evolcoder.evaluate.config import EvaluateConfig, EvaluateRuntime
from evolcoder.evaluate.evaluate import ReferenceCheckFailed, check_references, evaluate
from evolcoder.evaluate.samples import read_samples

HUMANEVAL = {p.task_id: p for p in load_benchmark("humaneval")}
FIRST = ["HumanEval/0", "HumanEval/1", "HumanEval/2"]


def _samples(path, rows):
    write_jsonl(path, rows)
    return path


def _evaluate_cli(tmp_path, samples, *extra):
    out = tmp_path / "out"
    argv = ["evaluate", "--benchmark", "humaneval", "--samples", str(samples), "--workers", "2",
            "--out", str(out), *extra]
    return main(argv), out


@pytest.fixture
def cache_env(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_cli_scores_completions_solutions_and_responses(tmp_path, cache_env, capsys):
    p0, p1, p2 = (HUMANEVAL[t] for t in FIRST)
    samples = _samples(tmp_path / "s.jsonl", [
        {"task_id": "HumanEval/0", "completion": p0.canonical_solution, "model": "m"},
        {"task_id": "HumanEval/0", "completion": "    return True\n", "model": "m"},
        {"task_id": "HumanEval/1", "solution": p1.prompt + p1.canonical_solution},
        {"task_id": "HumanEval/1", "solution": "def separate_paren_groups(:\n"},
        {"task_id": "HumanEval/2", "response": f"Sure!\n```python\n{p2.prompt}{p2.canonical_solution}```\nDone."},
        {"task_id": "HumanEval/2", "response": "```python\nwhile True:\n    pass\n```"},
    ])
    status, out = _evaluate_cli(tmp_path, samples, "--allow-partial", "--timeout", "1")
    assert status == 0
    rows = read_jsonl(out / "results.jsonl")
    assert [(r["task_id"], r["sample"], r["passed"], r["verdict"]) for r in rows] == [
        ("HumanEval/0", 0, True, "passed"), ("HumanEval/0", 1, False, "failed"),
        ("HumanEval/1", 0, True, "passed"), ("HumanEval/1", 1, False, "failed"),
        ("HumanEval/2", 0, True, "passed"), ("HumanEval/2", 1, False, "timeout"),
    ]
    assert rows[0]["model"] == "m" and "SyntaxError" in rows[3]["detail"]
    assert rows[4]["code"] == p2.prompt + (p2.prompt + p2.canonical_solution).strip()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics == {"pass@1": pytest.approx(0.5), "n_tasks": 3, "n_samples": 6}
    summary = capsys.readouterr().out
    assert summary.startswith("humaneval: 3 tasks, 6 samples\npass@1:\t0.500\n")


def test_unknown_and_missing_tasks_are_errors_naming_them(tmp_path, cache_env, capsys):
    samples = _samples(tmp_path / "s.jsonl", [
        {"task_id": "HumanEval/0", "completion": "    return True\n"},
        {"task_id": "HumanEval/999", "completion": "    return True\n"},
    ])
    status, out = _evaluate_cli(tmp_path, samples)
    err = capsys.readouterr().err
    assert status == 2 and not out.exists()
    assert "1 unknown task(s): HumanEval/999" in err
    assert "163 task(s) without samples: HumanEval/1, HumanEval/2" in err and "--allow-partial" in err
    status, out = _evaluate_cli(tmp_path, samples, "--allow-partial")
    assert status == 0 and json.loads((out / "metrics.json").read_text())["n_tasks"] == 1


def test_a_row_without_code_names_its_line(tmp_path, cache_env, capsys):
    samples = tmp_path / "s.jsonl"
    samples.write_text('{"task_id": "HumanEval/0", "completion": "x"}\n{"task_id": "HumanEval/1"}\n')
    status, _ = _evaluate_cli(tmp_path, samples, "--allow-partial")
    message = f"{samples}:2: task HumanEval/1 has none of solution, completion, response"
    assert status == 2 and message in capsys.readouterr().err


def test_console_script_entry_point(tmp_path):
    result = subprocess.run([sys.executable, "-m", "evolcoder.cli", "evaluate", "--help"],
                            capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    assert "--samples" in result.stdout and "--allow-partial" in result.stdout


def test_mbpp_runs_code_setup_and_its_three_asserts(tmp_path):
    problems = load_benchmark("mbpp", str(shared_file("mbpp_test.jsonl")))[:20]
    rows = []
    for p in problems:
        response = f"```python\n{p.canonical_solution}\n# Test examples\nassert False\n```"
        rows.append({"task_id": p.task_id, "response": response})
        wrong = f"def {p.entry_point}(*a):\n    return None\n"
        rows.append({"task_id": int(p.task_id.split("/")[1]), "completion": wrong})
    samples = read_samples(_samples(tmp_path / "s.jsonl", rows), "mbpp")
    runtime = EvaluateRuntime(workers=2, cache=False, cache_dir=str(tmp_path / "cache"))
    evaluation = evaluate(problems, samples, EvaluateConfig(), runtime)
    assert [r["passed"] for r in evaluation.rows] == [True, False] * 20
    assert evaluation.metrics["pass@1"] == pytest.approx(0.5)
    assert "AssertionError" in evaluation.rows[1]["detail"]


def test_rescoring_unchanged_samples_comes_from_the_cache(tmp_path, monkeypatch):
    problems = [HUMANEVAL[t] for t in FIRST]
    samples = read_samples(_samples(tmp_path / "s.jsonl", [
        {"task_id": p.task_id, "completion": c} for p in problems for c in (p.canonical_solution, "    pass\n")
    ]), "humaneval")
    ran = []
    real_run = Sandbox.run
    monkeypatch.setattr(Sandbox, "run", lambda self, jobs, **kw: ran.append(len(jobs)) or real_run(self, jobs, **kw))
    runtime = EvaluateRuntime(workers=2, cache_dir=str(tmp_path / "cache"))
    first = evaluate(problems, samples, EvaluateConfig(), runtime)
    second = evaluate(problems, samples, EvaluateConfig(), runtime)
    assert ran == [6] and first.rows == second.rows and second.isolation.startswith("none")
    evaluate(problems, samples, EvaluateConfig(timeout_s=2.0), runtime)
    assert ran == [6, 6]  # a different limit is a different key


def test_reference_check_names_the_broken_tasks(tmp_path):
    problems = [HUMANEVAL[t] for t in FIRST]
    config, runtime = EvaluateConfig(), EvaluateRuntime(workers=2, cache=False, cache_dir=str(tmp_path / "cache"))
    check_references(problems, config, runtime)
    wrong = problems[1]
    broken = [problems[0], replace(wrong, canonical_solution="    return []\n", reference=wrong.prompt + "    return []\n")]
    with pytest.raises(ReferenceCheckFailed, match=r"1 canonical solution\(s\) do not pass: HumanEval/1 \(failed"):
        check_references(broken, config, runtime)


def test_evaluate_stage_scores_generations_and_writes_metrics(tmp_path):
    (tmp_path / "data" / "generations").mkdir(parents=True)
    write_jsonl(tmp_path / "data/benchmarks/humaneval.jsonl", get("humaneval").public_rows())
    (tmp_path / "params.yaml").write_text(
        "benchmarks: [humaneval]\n"
        f"evaluate: {{}}\nruntime:\n  evaluate:\n    workers: 2\n    cache: false\n    cache_dir: {tmp_path / 'cache'}\n"
    )
    write_jsonl(tmp_path / "data" / "generations" / "humaneval.jsonl", [
        {"task_id": p.task_id, "sample": 0, "prompt": "...",
         "response": f"```python\n{p.prompt}{p.canonical_solution}```", "finish_reason": "stop", "n_tokens": 10}
        for p in HUMANEVAL.values()
    ])
    env = {"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "stages.evaluate", "humaneval"], cwd=tmp_path,
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "all 164 canonical solutions pass" in result.stdout
    metrics = json.loads((tmp_path / "metrics" / "humaneval.json").read_text())
    assert metrics == {"pass@1": 1.0, "n_tasks": 164, "n_samples": 164}
    rows = read_jsonl(tmp_path / "data" / "eval" / "humaneval.jsonl")
    assert len(rows) == 164 and rows[0]["finish_reason"] == "stop" and rows[0]["passed"] is True


def write_stage_inputs(root, evaluate_section: str, n_tasks: int = 3) -> None:
    """Params, the first `n_tasks` HumanEval problems and a right answer to each, where the stage reads them."""
    problems = list(HUMANEVAL.values())[:n_tasks]
    write_jsonl(root / "data/benchmarks/humaneval.jsonl", get("humaneval").public_rows()[:n_tasks])
    write_jsonl(root / "data/generations/humaneval.jsonl", [
        {"task_id": p.task_id, "sample": 0, "response": f"```python\n{p.prompt}{p.canonical_solution}```"}
        for p in problems])
    (root / "params.yaml").write_text(f"benchmarks: [humaneval]\nevaluate: {evaluate_section}\nruntime:\n"
                                      f"  evaluate: {{workers: 2, cache: false, cache_dir: {root / 'cache'}}}\n")


def test_evolcoder_evaluate_with_a_benchmark_runs_the_stage(tmp_path, monkeypatch, capsys):
    write_stage_inputs(tmp_path, "{reference_check: false}")
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "humaneval"]) == 0
    assert "evaluate@humaneval: sandbox isolation" in capsys.readouterr().out
    assert json.loads((tmp_path / "metrics/humaneval.json").read_text()) == {"pass@1": 1.0, "n_tasks": 3,
                                                                             "n_samples": 3}
    assert len(read_jsonl(tmp_path / "data/eval/humaneval.jsonl")) == 3


def test_evolcoder_evaluate_says_which_mode_its_options_belong_to(tmp_path, monkeypatch, capsys):
    write_stage_inputs(tmp_path, "{workers: 2}")
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "humaneval"]) == 2
    assert "evaluate.workers is a runtime knob" in capsys.readouterr().err
    assert main(["evaluate", "humaneval", "--samples", "s.jsonl", "--no-cache"]) == 2
    assert "--samples, --no-cache: options of scoring a file" in capsys.readouterr().err
    assert main(["evaluate", "--benchmark", "humaneval", "--samples", "s.jsonl"]) == 2
    assert "scoring a file needs --out" in capsys.readouterr().err


def test_cache_key_covers_code_limits_and_harness(monkeypatch):
    from evolcoder.exec import Job, Limits
    from evolcoder.evaluate import cache

    job = Job(code="x = 1", limits=Limits(wall_s=3.0))
    keys = {cache.job_key(job), cache.job_key(Job(code="x = 2", limits=Limits(wall_s=3.0))),
            cache.job_key(Job(code="x = 1", limits=Limits(wall_s=3.0, memory_mb=1024)))}
    monkeypatch.setattr(cache, "harness_digest", lambda: "another sandbox")
    keys.add(cache.job_key(job))
    assert len(keys) == 4


def test_cli_reads_gzip_files_takes_a_version_and_k_and_prints_evalplus_summary(tmp_path, cache_env, capsys):
    import gzip

    problems = shared_file("HumanEvalPlus-v0.1.10.jsonl.gz")
    p0, p1 = HUMANEVAL["HumanEval/0"], HUMANEVAL["HumanEval/1"]
    samples = tmp_path / "samples.jsonl.gz"
    with gzip.open(samples, "wt") as f:
        for row in [{"task_id": "HumanEval/0", "completion": p0.canonical_solution},
                    {"task_id": "HumanEval/0", "completion": "    return len(numbers) > 1\n"},
                    {"task_id": "HumanEval/1", "completion": p1.canonical_solution},
                    {"task_id": "HumanEval/1", "completion": p1.canonical_solution}]:
            f.write(json.dumps(row) + "\n")
    out = tmp_path / "out"
    status = main(["evaluate", "--benchmark", "humanevalplus", "--problems", str(problems), "--version", "v0.1.10",
                   "--samples", str(samples), "--k", "1,2,10", "--allow-partial", "--workers", "2", "--out", str(out)])
    assert status == 0
    summary = capsys.readouterr().out.splitlines()
    assert summary[:6] == [f"humanevalplus: 2 tasks, 4 samples (v0.1.10, {problems})", "humaneval (base tests)",
                           "pass@1:\t0.750", "pass@2:\t1.000", "humaneval+ (base + extra tests)", "pass@1:\t0.750"]
    rows = read_jsonl(out / "results.jsonl")
    assert [(r["base_status"], r["plus_status"]) for r in rows][:2] == [("pass", "pass"), ("fail", "fail")]
    first_failing = rows[1]["base_fail_tests"]  # the first base input it gets wrong, as EvalPlus reports it
    assert len(first_failing) == 1 and rows[1]["detail"].startswith("base input ")
    assert json.loads((out / "metrics.json").read_text())["plus_pass@2"] == 1.0


def test_cli_names_a_version_its_file_is_not_and_a_bad_k(tmp_path, cache_env, capsys):
    argv = ["evaluate", "--benchmark", "mbppplus", "--problems", str(shared_file("mbppplus_399.jsonl")),
            "--samples", str(_samples(tmp_path / "s.jsonl", [{"task_id": 2, "solution": "x = 1"}])),
            "--out", str(tmp_path / "out")]
    assert main([*argv, "--version", "v0.2.0"]) == 2
    assert "399 tasks, but mbppplus v0.2.0 has 378" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*argv, "--k", "1,ten"])
    assert "'1,ten' is not a comma-separated list of integers" in capsys.readouterr().err
