"""Code extraction: WizardCoder's rules on real outputs and the fallbacks.

Linear time on pathological responses is measured by bench/extract_speed.py.
"""

from __future__ import annotations

from tests.support.data import shared_file

from evolcoder.jsonl import read_jsonl
from evolcoder.benchmarks.extract import extract_code
from evolcoder.templates import response_of

FUNC = "def add(a, b):\n    return a + b"


def test_wizardcoder_extraction_reproduces_its_published_completions():
    rows = read_jsonl(shared_file("wizardcoder15b_humaneval_greedy.jsonl"))
    mismatched = [
        r["task_id"] for r in rows if extract_code(response_of(r["all_code"]), "humaneval") != r["completion"]
    ]
    assert len(rows) == 164 and mismatched == []


def test_first_python_block_with_crlf_and_prose():
    response = f"Here it is:\r\n\r\n```python\r\n{FUNC}\r\n```\r\n\r\nIt adds.\r\n```python\r\nadd(1, 2)\r\n```"
    assert extract_code(response) == FUNC


def test_cuts_main_guard_and_example_usage():
    response = f'```python\n{FUNC}\n\nif __name__ == "__main__":\n    print(add(1, 2))\n```'
    assert extract_code(response) == FUNC
    assert extract_code(f"```python\n{FUNC}\n\n# Example usage\nprint(add(1, 2))\n```") == FUNC


def test_test_examples_are_cut_for_mbpp_only():
    response = f"```python\n{FUNC}\n# Test examples\nassert add(1, 2) == 3\n```"
    assert extract_code(response, "mbpp") == FUNC
    assert extract_code(response, "mbppplus") == FUNC
    assert "assert add" in extract_code(response, "humaneval")


def test_unclosed_fence_takes_the_rest():
    assert extract_code(f"Sure:\n```python\n{FUNC}\n").strip() == FUNC


def test_other_fence_spellings():
    for tag in ("py", "Python", "python3", ""):
        assert extract_code(f"Answer:\n```{tag}\n{FUNC}\n```\nDone.") == FUNC, tag


def test_later_block_defining_the_entry_point_wins_over_a_usage_block():
    response = f"Usage:\n```python\nprint(add(1, 2))\n```\nImplementation:\n```python\n{FUNC}\n```"
    assert extract_code(response, entry_point="add") == FUNC
    assert extract_code(response) == "print(add(1, 2))"  # WizardCoder's rule without an entry point


def test_unfenced_code_amid_prose():
    response = f"Here is the function:\n\n{FUNC}\n\nThis returns the sum of its arguments."
    assert extract_code(response) == FUNC
    assert extract_code(f"import math\n\n{FUNC}\n") == f"import math\n\n{FUNC}"


def test_prose_only_gives_no_code():
    assert extract_code("I am sorry, I cannot help with that request.") == ""
    assert extract_code("") == ""
