"""EvalPlus semantics: output comparison rules, base and plus scores, parity with EvalPlus."""

from __future__ import annotations

import json
import pickle

import pytest
from conftest import shared_file

from evolcoder.benchmarks import load_benchmark
from evolcoder.evaluation.config import EvaluateConfig
from evolcoder.evaluation.evaluate import evaluate
from evolcoder.evaluation.oracles import compare_outputs, pack
from evolcoder.evaluation.references import problem_inputs
from evolcoder.evaluation.samples import Sample

# MBPP+ tasks whose canonical solutions take seconds: left out of the parity subset.
SLOW_MBPP = {"Mbpp/84", "Mbpp/123", "Mbpp/255", "Mbpp/271", "Mbpp/300", "Mbpp/389", "Mbpp/392",
             "Mbpp/583", "Mbpp/589", "Mbpp/592", "Mbpp/599", "Mbpp/603", "Mbpp/630"}


def _compare(code, entry_point, inputs, expected, dataset="mbpp", atol=0.0, limit=1.0):
    namespace: dict = {}
    exec(code, namespace)
    case = {"inputs": inputs, "expected": expected, "time_limits": [limit] * len(inputs), "set_limit": 2 * limit}
    spec = {"dataset": dataset, "entry_point": entry_point, "atol": atol, "sets": {"base": case}}
    return compare_outputs(namespace, pack(spec))["base"]


def test_exact_match_and_the_first_failing_input():
    assert _compare("def f(x): return x * 2", "f", [[1], [2]], [2, 4])["status"] == "pass"
    result = _compare("def f(x): return 2 if x == 1 else 0", "f", [[1], [2], [3]], [2, 4, 6])
    assert result["status"] == "fail" and result["input"] == 1


def test_floats_are_compared_with_atol_1e_6_and_types_must_agree():
    assert _compare("def f(x): return x / 3 + 1e-8", "f", [[1]], [1 / 3])["status"] == "pass"
    assert _compare("def f(x): return x / 3 + 1e-3", "f", [[1]], [1 / 3])["status"] == "fail"
    assert _compare("def f(x): return [x / 3]", "f", [[1]], [(1 / 3,)])["status"] == "fail"
    assert _compare("def f(x): return x + 0.01", "f", [[1.0]], [1.0], atol=0.1)["status"] == "pass"


def test_special_oracles():
    # Mbpp/2 compares as sets; text_match_three only checks "not None"; HumanEval/32 finds a root.
    as_set = _compare("def similar_elements(a, b): return (5, 4)", "similar_elements", [[(3, 4, 5), (5, 4)]], [(4, 5)])
    assert as_set["status"] == "pass"
    assert _compare("def text_match_three(s): return 'x'", "text_match_three", [["abbb"]], [True])["status"] == "pass"
    zero = "def find_zero(xs): return 0.5"
    assert _compare(zero, "find_zero", [[[-1, 2]]], [0.0], dataset="humaneval", atol=1e-6)["status"] == "pass"


def test_missing_function_exception_and_timeout_fail():
    assert "no function 'f'" in _compare("g = 1", "f", [[1]], [1])["error"]
    assert "ZeroDivisionError" in _compare("def f(x): return 1 / 0", "f", [[1]], [1])["error"]
    result = _compare("def f(x):\n    while True: pass", "f", [[1]], [1], limit=0.2)
    assert result["status"] == "fail" and result["timed_out"] is True


def test_a_set_stops_at_its_own_limit():
    slow = "import time\ndef f(x):\n    time.sleep(0.15)\n    return x"
    result = _compare(slow, "f", [[i] for i in range(10)], list(range(10)), limit=0.25)
    assert result["status"] == "fail" and result["timed_out"] and 2 <= result["input"] <= 4


def test_expected_outputs_read_from_the_reference_file(tmp_path):
    path, offsets = tmp_path / "outputs", []
    with open(path, "wb") as f:
        for value in ([1, 2], {"a": (1,)}):
            blob = pickle.dumps(value)
            offsets.append((f.tell(), len(blob)))
            f.write(blob)
    namespace: dict = {}
    exec("def f(x): return x", namespace)
    case = {"inputs": [[[1, 2]], [{"a": (1,)}]], "expected_file": str(path), "offsets": offsets,
            "time_limits": [1, 1], "set_limit": 3}
    spec = {"dataset": "mbpp", "entry_point": "f", "atol": 0, "sets": {"plus": case}}
    assert compare_outputs(namespace, pack(spec))["plus"]["status"] == "pass"


def test_humanevalplus_reports_base_and_plus(tmp_path):
    row = {"task_id": "HumanEval/0", "prompt": "def f(x):\n", "entry_point": "f",
           "canonical_solution": "    return abs(x)\n", "base_input": [[1], [2]], "plus_input": [[-3], [4]],
           "atol": 0, "contract": "", "test": ""}
    path = tmp_path / "heplus.jsonl"
    path.write_text(json.dumps(row) + "\n")
    problems = load_benchmark("humanevalplus", str(path))
    samples = [Sample("HumanEval/0", i, "completion", text) for i, text in
               enumerate(["    return abs(x)\n", "    return x\n", "    return -x\n"])]
    evaluation = evaluate(problems, samples, EvaluateConfig(workers=1, cache=False, cache_dir=str(tmp_path)))
    assert [(r["base_passed"], r["plus_passed"], r["passed"]) for r in evaluation.rows] == [
        (True, True, True), (True, False, False), (False, False, False)]
    assert evaluation.metrics == {"pass@1": pytest.approx(2 / 3), "plus_pass@1": pytest.approx(1 / 3),
                                  "n_tasks": 1, "n_samples": 3}
    assert "plus input 0" in evaluation.rows[1]["detail"]


def _variants(problem) -> list[str]:
    """The canonical solution, a wrong one, and one that only knows the base inputs' answers."""
    canonical = problem.reference
    ep = problem.entry_point
    wrong = (f"{canonical}\n_right = {ep}\ndef {ep}(*args):\n    out = _right(*args)\n"
             "    return [out] if not isinstance(out, list) else out[::-1] + [0]\n")
    table = {repr(tuple(inp)): i for i, inp in enumerate(problem_inputs(problem)["base"])}
    memorised = (f"{canonical}\n_right = {ep}\n_known = {set(table)!r}\ndef {ep}(*args):\n"
                 f"    return _right(*args) if repr(args) in _known else None\n")
    return [canonical, wrong, memorised]


@pytest.mark.slow
def test_mbppplus_base_and_plus_equal_evalplus(tmp_path):
    """pass@1 base and plus equal EvalPlus's own evaluator (check_correctness) on a subset."""
    from evalplus.eval._special_oracle import MBPP_OUTPUT_NOT_NONE_TASKS
    from evalplus.evaluate import check_correctness
    from evalplus.gen.util import trusted_exec

    problems = load_benchmark("mbppplus", str(shared_file("mbppplus_399.jsonl")))
    problems = [p for p in problems if p.task_id not in SLOW_MBPP][:40]
    samples = [Sample(p.task_id, i, "solution", code) for p in problems for i, code in enumerate(_variants(p))]
    ours = evaluate(problems, samples, EvaluateConfig(workers=2, cache=False, cache_dir=str(tmp_path)))

    theirs = []
    by_id = {p.task_id: p for p in problems}
    for sample in samples:
        p = by_id[sample.task_id]
        inputs = problem_inputs(p)
        row = {"task_id": p.task_id, "entry_point": p.entry_point, "atol": p.atol,
               "base_input": inputs["base"], "plus_input": inputs["plus"]}
        expected = {}
        for name in ("base", "plus"):
            expected[name], expected[f"{name}_time"] = trusted_exec(
                p.reference, inputs[name], p.entry_point, record_time=True,
                output_not_none=p.entry_point in MBPP_OUTPUT_NOT_NONE_TASKS)
        result = check_correctness("mbpp", sample.sample, row, sample.text, expected, fast_check=True)
        theirs.append((result["base"][0] == "pass", result["base"][0] == result["plus"][0] == "pass"))
    mine = [(r["base_passed"], r["plus_passed"]) for r in ours.rows]
    base_diff = sum(a[0] != b[0] for a, b in zip(mine, theirs))
    plus_diff = sum(a[1] != b[1] for a, b in zip(mine, theirs))
    differences = [(s.task_id, s.sample, a, b) for s, a, b in zip(samples, mine, theirs) if a != b]
    assert base_diff <= 1 and plus_diff <= 1, differences
    assert sum(b for b, _ in mine) > len(problems) and sum(p for _, p in mine) >= len(problems) - 1
