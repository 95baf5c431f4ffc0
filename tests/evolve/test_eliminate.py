"""Each elimination rule, and the seeded method choice."""

from __future__ import annotations

from collections import Counter

import pytest

from evolcoder.config import ConfigError
from evolcoder.evolve import eliminate
from evolcoder.evolve.config import EvolveConfig
from evolcoder.evolve.methods import choose_method

PARENT = "Write a function that returns the largest element of a list."


@pytest.mark.parametrize(
    ("evolved", "reason"),
    [
        ("", eliminate.EMPTY),
        ("   \n ", eliminate.EMPTY),
        (PARENT, eliminate.UNCHANGED),
        ("Write a function that returns the largest\n element of a list.  ", eliminate.UNCHANGED),
        ("#Rewritten Prompt#: Return the largest element without max().", eliminate.COPIED),
        ("Rewrite the given prompt so it returns the two largest.", eliminate.COPIED),
        ("Here is a harder programming test question: find the k largest.", eliminate.COPIED),
        ("#Rewritten Test#\nReturn the largest element in O(log n).", eliminate.COPIED),
        (PARENT + " Do not use max() or sorted().", None),
    ],
)
def test_instruction_rules(evolved, reason):
    assert eliminate.instruction_reason(PARENT, evolved) == reason


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("I'm sorry, but I cannot help with that request.", eliminate.SORRY),
        ("Sorry! " + "word " * 78, eliminate.SORRY),
        ("Sorry for the long answer. " + "word " * 80, None),
        ("", eliminate.STOPWORDS),
        ("Yes, it is. And then?!", eliminate.STOPWORDS),
        ("```python\ndef largest(xs):\n    return max(xs)\n```", None),
    ],
)
def test_answer_rules(answer, reason):
    assert eliminate.answer_reason(answer) == reason


def test_method_choice_is_seeded_per_item_and_round():
    weights = EvolveConfig().method_weights()
    first = [choose_method(weights, 0, f"item{i}", 1) for i in range(200)]
    assert first == [choose_method(weights, 0, f"item{i}", 1) for i in range(200)]
    # independent of order: item 7 draws the same whoever comes before it
    assert choose_method(weights, 0, "item7", 1) == first[7]
    assert set(first) == set(weights)
    assert first != [choose_method(weights, 1, f"item{i}", 1) for i in range(200)]
    assert first != [choose_method(weights, 0, f"item{i}", 2) for i in range(200)]


def test_method_weights_steer_the_choice():
    config = EvolveConfig(weights={"complexity": 0.0, "erroneous_code": 4.0})
    drawn = Counter(choose_method(config.method_weights(), 0, f"i{n}", 1) for n in range(1000))
    assert drawn["complexity"] == 0
    assert drawn["erroneous_code"] > 2 * max(drawn[m] for m in drawn if m != "erroneous_code")


def test_weights_are_checked_against_the_family():
    with pytest.raises(ConfigError, match=r"evolve.weights: unknown method\(s\) \['breadth'\]"):
        EvolveConfig(methods="wizardcoder", weights={"breadth": 1.0})
    with pytest.raises(ConfigError, match="all weights are 0"):
        EvolveConfig(methods="wizardlm", weights={m: 0.0 for m in
                                                   ("constraints", "deepening", "concretizing",
                                                    "reasoning_steps", "breadth")})
