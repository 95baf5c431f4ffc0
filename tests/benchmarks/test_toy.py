"""Adding a benchmark is one module and its line in the registry: a toy benchmark added to
`evolcoder/benchmarks/` of a copy of the repository runs through the generate, evaluate and report
stages with nothing else changed."""

from __future__ import annotations

import json

import pytest
from ruamel.yaml import YAML

from evolcoder.config import read_yaml
from evolcoder.jsonl import read_jsonl, write_jsonl
from tests.support.repo_copy import copy_repo, run_stage

TOY_MODULE = '''"""A toy benchmark: arithmetic tasks from a local JSONL, tested by asserts."""

from evolcoder.benchmarks.base import Benchmark, Column, Problem
from evolcoder.templates import CODE_TASK_PREFIX, task_prompt


class Toy(Benchmark):
    name = "toy"
    columns = (Column("Toy", "pass@1"),)

    def problems(self, rows, where):
        return [Problem(benchmark=self.name, task_id=row["task_id"], entry_point=row["entry_point"],
                        text=row["text"], canonical_solution=row["solution"], test_list=tuple(row["tests"]))
                for row in rows]

    def prompt(self, problem, tabs=False, style="alpaca"):
        return task_prompt(CODE_TASK_PREFIX + problem.text, style, tabs)

    def test_program(self, problem, program):
        return "\\n".join([program, *problem.test_list]) + "\\n"


TOY = Toy()
'''
TASKS = [
    {"task_id": f"Toy/{i}", "entry_point": name, "text": f"Write a function {name}(a, b) that returns a {op} b.",
     "solution": f"def {name}(a, b):\n    return a {op} b\n", "tests": [f"assert {name}(6, 3) == 6 {op} 3"]}
    for i, (name, op) in enumerate([("add", "+"), ("sub", "-"), ("mul", "*")])
]


@pytest.fixture(scope="module")
def toy_repo(tmp_path_factory, tiny_checkpoint):
    dest = copy_repo(tmp_path_factory.mktemp("toy") / "repo")
    (dest / "evolcoder/benchmarks/toy.py").write_text(TOY_MODULE)
    registry = dest / "evolcoder/benchmarks/registry.py"
    listed = registry.read_text().replace("from evolcoder.errors import", "from evolcoder.benchmarks.toy import TOY\nfrom evolcoder.errors import")
    registry.write_text(listed.replace("MBPPPLUS, MBPP_VALID)", "MBPPPLUS, MBPP_VALID, TOY)"))
    write_jsonl(dest / "data/benchmarks/toy.jsonl", TASKS)
    params = read_yaml(dest / "params.yaml")
    params["benchmarks"] = ["toy"]
    params["generate"].update(model=str(tiny_checkpoint), max_new_tokens=16)
    params["runtime"]["generate"]["num_shards"] = 1
    params["runtime"]["evaluate"].update(workers=1, cache=False, cache_dir=str(dest / ".cache"))
    YAML().dump(params, dest / "params.yaml")
    return dest


@pytest.mark.slow
def test_a_benchmark_in_one_file_runs_through_generate_evaluate_and_the_report(toy_repo):
    for stage, args in (("generate", ["toy"]), ("evaluate", ["toy"]), ("report", [])):
        done = run_stage(toy_repo, stage, *args)
        assert done.returncode == 0, f"{stage}: {done.stderr[-3000:]}"
    rows = read_jsonl(toy_repo / "data/generations/toy.jsonl")
    assert [r["task_id"] for r in rows] == ["Toy/0", "Toy/1", "Toy/2"]
    assert "Write a function add(a, b) that returns a + b." in rows[0]["prompt"]
    metrics = json.loads((toy_repo / "metrics/toy.json").read_text())
    assert metrics["n_tasks"] == 3 and 0 <= metrics["pass@1"] <= 1
    report = (toy_repo / "metrics/report.md").read_text()
    assert "| Model | HumanEval | HumanEval+ | MBPP | MBPP+ | Toy |" in report
    assert "| toy | 3 | 3 |" in report
