"""The benchmark prompts, pinned: the text a model sees at generation is what it trained on."""

import json

import pytest

from tests.support.data import shared_file
from evolcoder.benchmarks import load_benchmark
from evolcoder.benchmarks import Problem
from evolcoder.benchmarks import get
from evolcoder.templates import alpaca_prompt

HEADER = ("Below is an instruction that describes a task. "
          "Write a response that appropriately completes the request.\n\n")


def test_alpaca_prompt_without_input_has_one_blank_line_before_the_response():
    assert alpaca_prompt("Say hi.") == HEADER + "### Instruction:\nSay hi.\n\n### Response:"


def test_alpaca_prompt_with_input():
    assert alpaca_prompt("Add them.", "1 2") == (
        "Below is an instruction that describes a task, paired with an input that provides further context. "
        "Write a response that appropriately completes the request.\n\n"
        "### Instruction:\nAdd them.\n\n### Input:\n1 2\n\n### Response:")


def test_humaneval_prompt_with_and_without_tabs():
    problem = Problem(benchmark="humaneval", task_id="HumanEval/0", entry_point="f",
                      prompt='def f(x):\n    """Twice x."""\n')
    body = "### Instruction:\nCreate a Python script for this problem:\n{}\n\n### Response:"
    assert get("humaneval").prompt(problem) == HEADER + body.format('def f(x):\n    """Twice x."""\n')
    assert get("humaneval").prompt(problem, tabs=True) == HEADER + body.format('def f(x):\n\t"""Twice x."""\n')


def _decoded_as_wizardcoder(prompt: str) -> str:
    """What WizardCoder's script wrote back as `all_code`: the tokenizer's decode with the
    old default `clean_up_tokenization_spaces=True` (" ." -> "." and the like), then tabs
    turned back into four spaces."""
    for before, after in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                          (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
        prompt = prompt.replace(before, after)
    return prompt.replace("\t", "    ")


def test_humaneval_prompt_reproduces_wizardcoder_15b_published_outputs_for_all_164_tasks():
    rows = [json.loads(line) for line in shared_file("wizardcoder15b_humaneval_greedy.jsonl").open()]
    problems = {p.task_id: p for p in load_benchmark("humaneval")}
    assert len(rows) == len(problems) == 164
    for row in rows:
        seen = row["all_code"][:row["all_code"].index("### Response:") + len("### Response:")]
        ours = get("humaneval").prompt(problems[row["task_id"]], tabs=True)
        assert _decoded_as_wizardcoder(ours) == seen, row["task_id"]


def test_mbpp_prompt_lists_the_task_then_its_test_examples():
    problem = Problem(benchmark="mbpp", task_id="Mbpp/11", entry_point="remove_Occ",
                      text="Write a function.", test_list=('assert f(1) == 2', 'assert f(2) == 3'))
    assert get("mbpp").prompt(problem) == HEADER + (
        "### Instruction:\nCreate a Python script for this problem:\n\nWrite a function.\nTest examples:\n"
        "assert f(1) == 2\nassert f(2) == 3\n\n### Response:")


def test_mbpp_prompt_of_the_first_real_test_task():
    problem = load_benchmark("mbpp", str(shared_file("mbpp_test.jsonl")))[0]
    assert get("mbpp").prompt(problem) == HEADER + (
        "### Instruction:\nCreate a Python script for this problem:\n\n"
        "Write a python function to remove first and last occurrence of a given character from the string.\n"
        "Test examples:\n"
        'assert remove_Occ("hello","l") == "heo"\nassert remove_Occ("abcda","a") == "bcd"\n'
        'assert remove_Occ("PHP","P") == "H"\n\n### Response:')


def test_mbppplus_prompt_is_evalplus_docstring_with_its_first_assertion():
    problem = load_benchmark("mbppplus", str(shared_file("mbppplus_399.jsonl")))[0]
    assert get("mbppplus").prompt(problem) == HEADER + (
        '### Instruction:\nCreate a Python script for this problem:\n"""\n'
        "Write a function to find the shared elements from the given two lists.\n"
        "assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)\n"
        '"""\n\n\n### Response:')


def test_unknown_benchmark_is_refused():
    with pytest.raises(ValueError, match="unknown benchmark 'apps'"):
        get("apps").prompt(Problem(benchmark="apps", task_id="x", entry_point="f"))
