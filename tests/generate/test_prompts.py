"""The benchmark prompts, pinned: the text a model sees at generation is what it trained on."""

import json

import pytest

from tests.support.data import shared_file
from evolcoder.benchmarks import load_benchmark
from evolcoder.benchmarks import Problem
from evolcoder.benchmarks import get
from evolcoder.generate.runner import make_jobs
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


# WizardCoder's later evaluation scripts (generate.prompt: eval-scripts): a second blank line.
EVAL_SCRIPTS_HEADER = HEADER + "\n"


def test_eval_scripts_prompt_has_the_second_blank_line_of_wizardcoders_later_scripts():
    problem = Problem(benchmark="humaneval", task_id="HumanEval/0", entry_point="f",
                      prompt='def f(x):\n    """Twice x."""\n')
    assert get("humaneval").prompt(problem, tabs=True, style="eval-scripts") == EVAL_SCRIPTS_HEADER + (
        '### Instruction:\nCreate a Python script for this problem:\ndef f(x):\n\t"""Twice x."""\n\n\n### Response:')
    assert get("humanevalplus").prompt(problem, style="eval-scripts") == get("humaneval").prompt(problem, style="eval-scripts")
    jobs = make_jobs("humaneval", [problem], tabs=False, style="eval-scripts")
    assert jobs[0].prompt == get("humaneval").prompt(problem, style="eval-scripts")


def test_mbpp_prompt_is_mbpp_gen_pys_in_both_styles_with_the_tabs_rewrite():
    problem = next(p for p in load_benchmark("mbpp", str(shared_file("mbpp_test.jsonl"))) if p.task_id == "Mbpp/451")
    plain = get("mbpp").prompt(problem)
    assert "    " in plain and get("mbpp").prompt(problem, style="eval-scripts") == plain  # one blank line in mbpp_gen.py
    assert get("mbpp").prompt(problem, tabs=True) == plain.replace("    ", "\t")


# WizardCoder-33B-V1.1's MBPP+ questions, as its data/mbppplus.json (nlpxucan/WizardLM, cf7a22d) holds them
MBPPPLUS_JSON = {
    "Mbpp/2": "Write a function to find the shared elements from the given two lists. Your code should satisfy the "
              "following assertion:\n```python\nassert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))\n```",
    "Mbpp/9": "Write a python function to find the minimum number of rotations (greater than 0) required to get the same "
              "string. Your code should satisfy the following assertion:\n```python\nassert find_Rotations(\"aaaa\") == 1\n```",
    "Mbpp/82": "Write a function to find the volume of a sphere. Your code should satisfy the following assertion:\n"
               "```python\nassert math.isclose(volume_sphere(10), 4188.790204786391, rel_tol=0.001)\n```",
}


def test_mbppplus_eval_scripts_prompt_asks_wizardcoder_33b_v1_1s_question():
    problems = {p.task_id: p for p in load_benchmark("mbppplus", str(shared_file("MbppPlus-v0.2.0.jsonl.gz")))}
    for task_id, question in MBPPPLUS_JSON.items():
        prompt = get("mbppplus").prompt(problems[task_id], tabs=True, style="eval-scripts")
        assert prompt == EVAL_SCRIPTS_HEADER + f"### Instruction:\n{question}\n\n### Response:", task_id


def test_mbppplus_prompt_carries_one_example_assertion_from_either_version():
    released = {p.task_id: p for p in load_benchmark("mbppplus", str(shared_file("MbppPlus-v0.2.0.jsonl.gz")))}
    snapshot = {p.task_id: p for p in load_benchmark("mbppplus", str(shared_file("mbppplus_399.jsonl")))}
    assert get("mbppplus").prompt(released["Mbpp/2"]) == get("mbppplus").prompt(snapshot["Mbpp/2"]).replace(
        "assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)",
        "assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))")
    assert 'volume of a sphere.\nassert math.isclose(volume_sphere(10)' in get("mbppplus").prompt(snapshot["Mbpp/82"])


def test_an_unknown_prompt_style_is_refused():
    from evolcoder.config import ConfigError, from_dict
    from evolcoder.generate.config import GenerateConfig

    assert from_dict(GenerateConfig, {"prompt": "eval-scripts"}, prefix="generate").prompt == "eval-scripts"
    with pytest.raises(ConfigError, match=r"generate\.prompt: 'scripts' is not one of"):
        from_dict(GenerateConfig, {"prompt": "scripts"}, prefix="generate")
