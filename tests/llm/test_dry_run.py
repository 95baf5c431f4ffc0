"""The dry-run provider: a deterministic, offline rewrite per method, and seed-derived answers."""

from __future__ import annotations

import asyncio

import pytest

from evolcoder.llm.prompts import METHODS, equality_prompt, evolution_prompt
from evolcoder.llm import ChatRequest
from evolcoder.llm.dry_run import DryRunProvider

QUESTION = "Write a function that returns the sum of a list of integers."
SEED_ANSWER = "Use the built-in:\n```python\ndef total(xs):\n    return sum(xs)\n```\nDone."


def complete(prompt: str, sample: int = 0, **meta):
    request = ChatRequest(messages=(("user", prompt),), model="m", sample=sample, meta=meta)
    return asyncio.run(DryRunProvider().complete(request))


def evolved(method: str, question: str = QUESTION, family: str = "wizardcoder", sample: int = 0) -> str:
    return complete(evolution_prompt(family, method, question), sample).text


def test_constraint_adds_about_ten_words():
    text = evolved("constraints")
    assert text.startswith(QUESTION + "\n")
    assert 8 <= len(text.split()) - len(QUESTION.split()) <= 16


def test_specific_requirement_replaces_a_common_word():
    text = evolved("specific_requirement")
    assert text != QUESTION and "\n" not in text  # replaced in place, not appended
    assert len(text.split()) > len(QUESTION.split())


def test_specific_requirement_without_a_common_word_adds_one():
    text = evolved("specific_requirement", "Reverse the words of a sentence.")
    assert "generator" in text


def test_reasoning_steps_are_added():
    assert "step" in evolved("reasoning_steps").split("\n", 1)[1]


def test_erroneous_code_reference_is_a_python_snippet():
    text = evolved("erroneous_code")
    assert "erroneous code" in text and "```python\ndef " in text
    snippet = text.split("```python\n", 1)[1].split("```", 1)[0]
    compile(snippet, "<snippet>", "exec")  # buggy, but valid Python


def test_complexity_bound_is_added():
    assert "O(" in evolved("complexity")


@pytest.mark.parametrize("method", METHODS["wizardlm"])
def test_wizardlm_methods_rewrite_the_question_not_the_prompt(method):
    text = evolved(method, family="wizardlm", question=QUESTION + "\r\n")
    assert text != QUESTION and "#" not in text and "Prompt" not in text


def test_rewrites_vary_across_items_but_repeat_for_the_same_request():
    texts = {evolved("constraints", f"Task {i}: sum a list.") for i in range(12)}
    assert len({t.split("\n")[1] for t in texts}) > 1
    assert evolved("complexity") == evolved("complexity")
    assert {evolved("complexity", sample=s) for s in range(6)} != {evolved("complexity")}


def test_answer_carries_the_seed_answers_code():
    result = complete("Write a function that sums a list, in O(n).", reference_answer=SEED_ANSWER)
    assert result.text.endswith("```python\ndef total(xs):\n    return sum(xs)\n```")
    assert result.text.count("\n\n") == 1  # one sentence of prose, then the code
    assert result.provider == "dry-run" and result.cost_usd == 0.0 and result.ok
    assert result.prompt_tokens > 0 and result.completion_tokens > 0


def test_equality_verdict():
    assert complete(equality_prompt("Sum a list.", "Sum  a list.")).text == "Equal"
    assert complete(equality_prompt("Sum a list.", "Sum a list in O(1) space.")).text == "Not Equal"
