"""EvalPlus semantics: output comparison rules, CPU-time limits per input and per set, base and
plus scores with EvalPlus's statuses and first failing input (parity on every task: test_evaluate_parity)."""

from __future__ import annotations

import json
import pickle

import pytest

from evolcoder.benchmarks import load_benchmark
from evolcoder.evaluate.config import EvaluateConfig, EvaluateRuntime
from evolcoder.evaluate.evaluate import evaluate
from evolcoder.evaluate.oracles import compare_outputs, pack
from evolcoder.evaluate.samples import Sample


def _compare(code, entry_point, inputs, expected, dataset="mbpp", atol=0.0, limit=1.0, wall_factor=10.0):
    namespace: dict = {}
    exec(code, namespace)
    case = {"dataset": dataset, "entry_point": entry_point, "atol": atol, "inputs": inputs, "expected": expected,
            "time_limits": [limit] * len(inputs), "wall_factor": wall_factor}
    return compare_outputs(namespace, pack(case))


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


def test_missing_function_names_no_input_and_an_exception_names_its_input():
    missing = _compare("g = 1", "f", [[1]], [1])
    assert missing["status"] == "fail" and missing["input"] is None and "no function 'f'" in missing["error"]
    not_callable = _compare("f = 1", "f", [[1]], [1])  # EvalPlus calls it, and the first input fails
    assert not_callable["input"] == 0 and "TypeError" in not_callable["error"]
    assert "ZeroDivisionError" in _compare("def f(x): return 1 / x", "f", [[1], [0]], [1, 1])["error"]


def test_an_input_is_limited_by_cpu_time_and_a_sleeping_one_by_the_wall_backstop():
    spin = _compare("def f(x):\n    while True: pass", "f", [[1]], [1], limit=0.2)
    assert (spin["status"], spin["input"], spin["timed_out"]) == ("fail", 0, True) and "CPU time" in spin["error"]
    # Sleeping uses no CPU: 0.3 s passes a 0.2 s CPU limit, and the backstop (0.2 x 5 = 1 s) stops 5 s.
    nap = "import time\ndef f(x):\n    time.sleep(x)\n    return x"
    assert _compare(nap, "f", [[0.3]], [0.3], limit=0.2, wall_factor=5)["status"] == "pass"
    assert _compare(nap, "f", [[0.3], [5]], [0.3, 5], limit=0.2, wall_factor=5)["input"] == 1


def test_expected_outputs_read_from_the_reference_file(tmp_path):
    path, offsets = tmp_path / "outputs", []
    with open(path, "wb") as f:
        for value in ([1, 2], {"a": (1,)}):
            blob = pickle.dumps(value)
            offsets.append((f.tell(), len(blob)))
            f.write(blob)
    namespace: dict = {}
    exec("def f(x): return x", namespace)
    case = {"dataset": "mbpp", "entry_point": "f", "atol": 0, "inputs": [[[1, 2]], [{"a": (1,)}]],
            "expected_file": str(path), "offsets": offsets, "time_limits": [1, 1], "wall_factor": 10}
    assert compare_outputs(namespace, pack(case))["status"] == "pass"


def _heplus(tmp_path, canonical: str, base: list, plus: list) -> list:
    row = {"task_id": "HumanEval/0", "prompt": "def f(x):\n", "entry_point": "f", "canonical_solution": canonical,
           "base_input": base, "plus_input": plus, "atol": 0, "contract": "", "test": ""}
    path = tmp_path / "heplus.jsonl"
    path.write_text(json.dumps(row) + "\n")
    return load_benchmark("humanevalplus", str(path))


def test_humanevalplus_reports_base_and_plus_as_evalplus_does(tmp_path):
    problems = _heplus(tmp_path, "    return abs(x)\n", [[1], [2]], [[5], [-3], [4]])
    samples = [Sample("HumanEval/0", i, "completion", text) for i, text in
               enumerate(["    return abs(x)\n", "    return x\n", "    return -x\n", "    return 1 / 0\n"])]
    evaluation = evaluate(problems, samples, EvaluateConfig(),
                          EvaluateRuntime(workers=1, cache=False, cache_dir=str(tmp_path)))
    fields = ("base_passed", "plus_passed", "passed", "base_status", "plus_status", "base_fail_tests", "plus_fail_tests")
    assert [tuple(r[f] for f in fields) for r in evaluation.rows] == [
        (True, True, True, "pass", "pass", [], []),
        (True, False, False, "pass", "fail", [], [[-3]]),  # the first plus input that fails
        (False, False, False, "fail", "fail", [[1]], [[5]]),
        (False, False, False, "fail", "fail", [[1]], [[5]]),
    ]
    assert evaluation.metrics == {"pass@1": pytest.approx(2 / 4), "plus_pass@1": pytest.approx(1 / 4),
                                  "n_tasks": 1, "n_samples": 4}
    assert evaluation.rows[1]["detail"] == "plus input 1: AssertionError: output differs from expected"
    assert evaluation.rows[3]["verdict"] == "failed" and "ZeroDivisionError" in evaluation.rows[3]["detail"]


def test_an_input_set_over_its_cpu_budget_times_out_and_the_other_set_still_runs(tmp_path):
    # Each input may take 0.5 s of CPU; the set's process min(max_set_time_s, sum) + 2 = 2.5 s,
    # and 30 inputs of 0.1 s each need 3.
    problems = _heplus(tmp_path, "    return x\n", [[1]], [[i] for i in range(30)])
    spin = "    import time\n    end = time.process_time() + 0.1\n    while time.process_time() < end:\n        pass\n    return x\n"
    config = EvaluateConfig(min_time_limit_s=0.5, max_set_time_s=0.5)
    runtime = EvaluateRuntime(workers=2, cache=False, cache_dir=str(tmp_path))
    (row,) = evaluate(problems, [Sample("HumanEval/0", 0, "completion", spin)], config, runtime).rows
    assert (row["base_status"], row["plus_status"], row["passed"]) == ("pass", "timeout", False)
    assert row["verdict"] == "timeout" and row["detail"] == "plus: CPU time limit 2.5s exceeded"
