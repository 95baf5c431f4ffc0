"""The evolution prompts are the published ones, and the dry run can read them back."""

from __future__ import annotations

import hashlib

import pytest

from evolcoder.llm.prompts import (
    FAMILIES,
    METHODS,
    EvolutionPrompt,
    equality_prompt,
    evolution_prompt,
    is_equal_verdict,
    parse_equality_prompt,
    parse_evolution_prompt,
    question_text,
)

WIZARDCODER_ERRONEOUS = (
    "Please increase the difficulty of the given programming test question a bit.\n\n"
    "You can increase the difficulty using, but not limited to, the following methods:\n"
    "Provide a piece of erroneous code as a reference to increase misdirection.\n\n"
    "Write a function that reverses a string."
)
WIZARDCODER_METHOD_TEXT = {
    "constraints": "Add new constraints and requirements to the original problem, adding "
    "approximately 10 additional words.",
    "specific_requirement": "Replace a commonly used requirement in the programming task with a "
    "less common and more specific one.",
    "reasoning_steps": "If the original problem can be solved with only a few logical steps, "
    "please add more reasoning steps.",
    "erroneous_code": "Provide a piece of erroneous code as a reference to increase misdirection.",
    "complexity": "Propose higher time or space complexity requirements, but please refrain from "
    "doing so frequently.",
}
# sha256 of each WizardLM prompt with "{question}" as the question, computed from the string
# literals of nlpxucan/WizardLM Evol_Instruct/depth.py and breadth.py as Python evaluates them
# (tabs of the line continuations included) and the createXPrompt functions' framing.
WIZARDLM_SHA256 = {
    "constraints": "f50ee41e02c8ade5110323dc7d86aa1fc0819bbf4275d33146b5ba69a7bb1384",
    "deepening": "bdd7d77d25be14a99d962fc3912dce324ae0574c212df0c4e1eaf6b6dadea636",
    "concretizing": "aa288f438307aa5b32af98cb65f677e814f05b3844d7119562988113331f087b",
    "reasoning_steps": "370795a68460ff5272e589e4d236f177075d1341d399276505bfe7fdabe01d2b",
    "breadth": "6d2cc46c1bc87a8aae85f9e1d22459b1dedee23bd1312fb4bc6bba55a5dafeaf",
}


def test_wizardcoder_prompt_is_the_papers_text():
    prompt = evolution_prompt("wizardcoder", "erroneous_code", "Write a function that reverses a string.")
    assert prompt == WIZARDCODER_ERRONEOUS


@pytest.mark.parametrize("method", sorted(WIZARDCODER_METHOD_TEXT))
def test_wizardcoder_methods_are_the_papers_five(method):
    prompt = evolution_prompt("wizardcoder", method, "Q")
    assert prompt.endswith(f"methods:\n{WIZARDCODER_METHOD_TEXT[method]}\n\nQ")
    assert set(METHODS["wizardcoder"]) == set(WIZARDCODER_METHOD_TEXT)


@pytest.mark.parametrize("method", sorted(WIZARDLM_SHA256))
def test_wizardlm_prompts_are_the_released_strings(method):
    prompt = evolution_prompt("wizardlm", method, "{question}")
    assert hashlib.sha256(prompt.encode()).hexdigest() == WIZARDLM_SHA256[method]
    assert set(METHODS["wizardlm"]) == set(WIZARDLM_SHA256)


def test_wizardlm_depth_prompt_reads_as_released():
    prompt = evolution_prompt("wizardlm", "constraints", "Sort a list.")
    assert prompt.startswith("I want you act as a Prompt Rewriter.\r\n \t\t\t\t\tYour objective")
    assert "Please add one more constraints/requirements into #The Given Prompt#' \r\n" in prompt
    assert prompt.endswith("#The Given Prompt#: \r\n Sort a list. \r\n#Rewritten Prompt#:\r\n")


def test_question_joins_input_as_each_family_does():
    assert question_text("wizardlm", " Sum these. ", "1 2") == "Sum these.\r\n1 2"
    assert question_text("wizardlm", "Sum.", "") == "Sum.\r\n"  # as WizardLM's main.py
    assert question_text("wizardcoder", "Sum these.", "1 2") == "Sum these.\n1 2"
    assert question_text("wizardcoder", "Sum.", "") == "Sum."


@pytest.mark.parametrize("family", FAMILIES)
def test_every_prompt_parses_back(family):
    question = question_text(family, "Count vowels in a string.\nIgnore case.", "hello")
    for method in METHODS[family]:
        prompt = evolution_prompt(family, method, question)
        assert parse_evolution_prompt(prompt) == EvolutionPrompt(family, method, question)
    assert parse_evolution_prompt("Write a function that adds two numbers.") is None


def test_equality_prompt_round_trip_and_verdicts():
    prompt = equality_prompt("Add two numbers.", "Add two numbers without +.")
    assert "Your Judgement (Just answer: Equal or Not Equal." in prompt
    assert parse_equality_prompt(prompt) == ("Add two numbers.", "Add two numbers without +.")
    assert parse_equality_prompt("Add two numbers.") is None
    assert is_equal_verdict("Equal")
    assert is_equal_verdict("**Equal.**")
    assert not is_equal_verdict("Not Equal")
    assert not is_equal_verdict("They differ.")
