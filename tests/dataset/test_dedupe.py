"""Exact and near-duplicate detection: the first copy stays, each duplicate names it."""

from __future__ import annotations

import pytest

from evolcoder.config import ConfigError
from evolcoder.dataset.dedupe import DedupeConfig, exact_key, find_duplicates, shingles

BASE = "Write a Python function that returns the n-th Fibonacci number using an iterative loop and constant extra memory."


def test_exact_duplicates_ignore_case_and_whitespace():
    texts = ["Sort a list.\n", "sort  a LIST.", "Reverse a string.", "SORT A list."]
    dups = find_duplicates(texts, DedupeConfig(near=False))
    assert [(d.index, d.of, d.kind) for d in dups] == [(1, 0, "exact"), (3, 0, "exact")]
    assert exact_key(" A\tb\n") == "a b"


def test_near_duplicate_points_at_the_earliest_copy():
    texts = ["Reverse the words of a sentence in place.", BASE, BASE + " Thanks!", "Please: " + BASE]
    dups = find_duplicates(texts, DedupeConfig())
    assert [(d.index, d.of, d.kind) for d in dups] == [(2, 1, "near"), (3, 1, "near")]
    assert all(0.85 <= d.similarity < 1.0 for d in dups)


def test_an_evolved_instruction_with_a_new_constraint_is_kept():
    evolved = BASE + " The function must also reject negative n with a ValueError whose message names n."
    assert find_duplicates([BASE, evolved], DedupeConfig()) == []


def test_threshold_decides():
    texts = [BASE, BASE.replace("iterative loop", "simple loop")]
    assert find_duplicates(texts, DedupeConfig(threshold=0.95)) == []
    assert len(find_duplicates(texts, DedupeConfig(threshold=0.6))) == 1


def test_short_texts_compare_as_a_whole():
    assert shingles("Sort it", 3) == {"sort it"}
    dups = find_duplicates(["Sort it", "Sort them", "sort IT!"], DedupeConfig())
    assert [(d.index, d.of) for d in dups] == [(2, 0)]


def test_bad_threshold_names_the_key():
    with pytest.raises(ConfigError, match="dataset.dedupe.threshold"):
        DedupeConfig(threshold=0.99)
