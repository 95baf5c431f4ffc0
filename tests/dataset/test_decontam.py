"""Decontamination: benchmark problems planted among real Code Alpaca rows are found and
attributed to their task, and clean rows are left alone."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.data import shared_file
from evolcoder.config import ConfigError
from evolcoder.dataset.dataset import DatasetConfig, build_dataset, read_rows
from evolcoder.dataset.decontam import BenchmarkIndex, DecontamConfig, DecontamError, content_words, load_problems, signatures
from evolcoder.dataset.filters import ESTIMATE
from evolcoder.benchmarks import Problem
from evolcoder.files.records import seed_id
from evolcoder.jsonl import write_jsonl
from evolcoder.templates import CODE_TASK_PREFIX

TOY = Problem(
    benchmark="mbpp", task_id="Mbpp/900", entry_point="merge_sorted_runs",
    text="Write a function to merge two sorted runs of integers into one sorted run without duplicates.",
    canonical_solution="def merge_sorted_runs(left, right, *, keep=(0, 1)):\n    return sorted(set(left) | set(right))\n",
    test_list=("assert merge_sorted_runs([1, 3], [2]) == [1, 2, 3]",),
    reference="def merge_sorted_runs(left, right, *, keep=(0, 1)):\n    return sorted(set(left) | set(right))\n",
)


def test_content_words_skip_keywords_numbers_and_one_letter_names():
    assert content_words("for i in range(10): total += arr[i] if x else None") == ["total", "arr"]
    assert content_words("Return the Sum_of digits") == ["the", "sum_of", "digits"]


def test_signatures_are_whitespace_free_and_span_nested_parentheses():
    code = "def f(a, b=(1, 2)) -> int:\n    pass\ndef g(x,\n      y): pass\nx = 'def broken(' "
    assert signatures(code) == [("f", "deff(a,b=(1,2))->int:"), ("g", "defg(x,y):")]


def test_a_shared_ngram_or_signature_marks_a_row_with_its_task():
    index = BenchmarkIndex([TOY], ngram=10)
    reworded = "Please write a function to merge two sorted runs of integers into one sorted run, thanks."
    found = index.match([reworded, "", "print(1)"])
    assert (found.benchmark, found.task_id, found.kind) == ("mbpp", "Mbpp/900", "ngram")
    found = index.match(["Merge.", "", "def merge_sorted_runs(left,right, *, keep=(0, 1)):\n  return []"])
    assert (found.task_id, found.kind, found.evidence) == ("Mbpp/900", "signature", "defmerge_sorted_runs(left,right,*,keep=(0,1)):")
    assert index.match(["Merge two lists.", "", "def merge(a, b):\n    return sorted(a + b)"]) is None
    assert BenchmarkIndex([TOY], ngram=10, use_signatures=False).match(["", "", TOY.canonical_solution]) is None


def test_tasks_tied_on_words_are_told_apart_by_punctuation():
    """HumanEval/56 and /61 are the same problem with '<>' and '()' brackets."""
    problems = {p.task_id: p for p in load_problems({"humaneval": None})}
    index = BenchmarkIndex(problems.values())
    for task_id in ("HumanEval/56", "HumanEval/61"):
        p = problems[task_id]
        assert index.match([p.prompt, "", p.canonical_solution]).task_id == task_id


def test_an_unreadable_benchmark_fails_saying_how_to_fix_it(tmp_path):
    with pytest.raises(DecontamError, match=r"cannot load mbpp .*not found.*dataset\.decontam\.skip"):
        load_problems({"mbpp": tmp_path / "missing.jsonl"})


def test_decontamination_follows_the_scored_benchmarks_unless_skipped():
    assert DecontamConfig().against(["mbpp", "humaneval"]) == ["humaneval", "mbpp"]
    assert DecontamConfig(skip=["mbpp"]).against(["humaneval", "mbpp"]) == ["humaneval"]
    assert DecontamConfig(benchmarks=["humaneval", "mbpp"]).against(["mbpp_valid"]) == ["humaneval", "mbpp", "mbpp_valid"]
    with pytest.raises(ConfigError, match=r"dataset\.decontam\.skip: names \['mbpp'\], which the benchmarks list"):
        DecontamConfig(skip=["mbpp"]).against(["humaneval"])
    with pytest.raises(ConfigError, match=r"dataset\.decontam\.benchmarks: unknown \['apps'\]"):
        DecontamConfig(benchmarks=["apps"])


SYNONYMS = {"return": "give back", "returns": "gives back", "list": "sequence", "given": "provided",
            "number": "value", "numbers": "values", "string": "text", "function": "routine"}


def reword(text: str) -> str:
    return re.sub(r"\b\w+\b", lambda m: SYNONYMS.get(m.group().lower(), m.group()), text)


def test_planted_benchmark_problems_are_removed_and_attributed(tmp_path):
    """Every HumanEval and MBPP problem, planted verbatim among the 2k Code Alpaca rows, and
    again reworded with its solution reformatted (as an evolved row): every plant removed, each
    verbatim one with its task, and at most 1% of the clean rows dropped."""
    problems = load_problems({"humaneval": None, "mbpp": shared_file("mbpp_test.jsonl"),
                              "mbppplus": shared_file("mbppplus_399.jsonl")})
    clean = json.loads(shared_file("code_alpaca_2k.json").read_text())
    seed = [{"id": seed_id(r["instruction"], r["input"]), **r, "source": "code_alpaca_2k"} for r in clean]
    root = seed[0]["id"]
    planted, reworded, evolved = {}, {}, []
    for p in problems:
        if p.benchmark == "humaneval":
            verbatim = (CODE_TASK_PREFIX + p.prompt, "", p.canonical_solution)
            evolved.append(_evolved(root, p.task_id, "Implement this:\n" + reword(p.prompt), p.reference))
        elif p.benchmark == "mbpp":
            verbatim = (p.text, "\n".join(p.test_list), p.canonical_solution)
            evolved.append(_evolved(root, p.task_id, reword(p.text), p.canonical_solution))
        else:
            continue
        reworded[evolved[-1]["id"]] = (p.benchmark, p.task_id)
        seed.append({"id": seed_id(*verbatim[:2]), "instruction": verbatim[0], "input": verbatim[1],
                     "output": verbatim[2], "source": "plant"})
        planted[seed[-1]["id"]] = (p.benchmark, p.task_id)
    write_jsonl(tmp_path / "seed.jsonl", seed)
    write_jsonl(tmp_path / "evol" / "round_1.jsonl", evolved)
    config = DatasetConfig(rounds=[0, 1], drop_non_code=False)
    data = build_dataset(read_rows(tmp_path / "seed.jsonl", tmp_path / "evol", [0, 1]), config,
                         BenchmarkIndex(problems), ESTIMATE, max_tokens=2048)

    found = {r["id"]: (r["detail"]["benchmark"], r["detail"]["task_id"])
             for r in data.removed if r["reason"] == "contaminated"}
    assert {i: found.get(i) for i in planted} == planted
    assert set(reworded) <= set(found)
    assert sum(found[i] == task for i, task in reworded.items()) >= 0.99 * len(reworded)
    clean_dropped = [r for r in data.removed if r["id"] not in planted and r["id"] not in reworded]
    assert len(clean_dropped) <= 0.01 * len(clean), [(r["reason"], r["instruction"]) for r in clean_dropped]


def _evolved(root: str, task_id: str, instruction: str, output: str) -> dict:
    """A round-1 row whose answer is `output` with tabs for indentation and CRLF line ends."""
    output = output.replace("    ", "\t").replace("\n", "\r\n")
    return {"id": seed_id(instruction, task_id), "parent_id": root, "root_id": root, "round": 1,
            "method": "deepening", "instruction": instruction, "input": "", "output": output,
            "eliminated": None, "llm": {"provider": "openai", "model": "gpt-3.5-turbo"}}
