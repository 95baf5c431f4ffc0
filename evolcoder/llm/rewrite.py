"""Rule-based evolution, standing in for an LLM in dry runs (`llm.provider: dry-run`).

Each method becomes a deterministic edit of the question: a constraint of about ten words, a
common requirement replaced by a rarer one, explicit reasoning steps, a buggy reference
snippet, or a complexity bound. `salt` picks among variants so that items differ.
"""

from __future__ import annotations

import re
from collections.abc import Callable

CONSTRAINTS = (
    "The function must not import any modules or call built-in sorting helpers.",
    "Handle empty input gracefully and raise ValueError for arguments of the wrong type.",
    "Do not modify the input in place; return a new object instead.",
    "Include type hints and a docstring with one worked example of a call.",
)
# (common word, rarer and more specific replacement), tried in a salted order.
RARER = (
    ("list", "tuple"),
    ("array", "immutable tuple"),
    ("string", "bytes object"),
    ("dictionary", "collections.OrderedDict"),
    ("integer", "non-negative 64-bit integer"),
    ("number", "decimal.Decimal value"),
    ("print", "yield"),
    ("sort", "stable-sort"),
    ("sum", "sum modulo 10**9 + 7"),
)
RARER_FALLBACK = "Read the input from a generator that can be consumed only once, not a list."
STEPS = (
    "Solve it in three explicit steps: validate the input, compute the result, then check "
    "it against a brute-force version.",
    "Before writing code, outline the algorithm step by step, then implement it and trace "
    "one example by hand.",
    "First derive the edge cases, then write the solution, and finally explain why each "
    "edge case is handled.",
)
BUGGY_SNIPPETS = (
    "def average(values):\n    total = 0\n    for i in range(1, len(values)):\n"
    "        total += values[i]\n    return total / len(values)",
    "def is_sorted(items):\n    for i in range(len(items)):\n"
    "        if items[i] > items[i + 1]:\n            return False\n    return True",
    "def count_words(text):\n    counts = {}\n    for word in text.split():\n"
    "        counts[word] = 1\n    return counts",
)
BOUNDS = (
    "Your solution must run in O(n) time and use O(1) additional space.",
    "The solution must run in O(n log n) time, where n is the input size.",
    "Keep the extra memory at O(k), where k is the number of distinct values.",
)
RARE_SETTINGS = (
    "the readings of a weather station, given as (timestamp, celsius) pairs",
    "a log of chess moves in algebraic notation",
    "DNA sequences over the alphabet ACGT",
)


def rewrite(method: str, question: str, salt: int) -> str:
    """The question evolved by the rule for `method` (a method name of either family)."""
    try:
        rule = RULES[method]
    except KeyError:
        raise ValueError(f"no dry-run rule for evolution method {method!r}") from None
    return rule(question.strip(), salt)


def _pick(options: tuple[str, ...], salt: int) -> str:
    return options[salt % len(options)]


def _add_constraint(question: str, salt: int) -> str:
    return f"{question}\n{_pick(CONSTRAINTS, salt)}"


def _rarer_requirement(question: str, salt: int) -> str:
    start = salt % len(RARER)
    for common, rare in RARER[start:] + RARER[:start]:
        pattern = re.compile(rf"\b{common}\b", re.IGNORECASE)
        if pattern.search(question):
            return pattern.sub(rare, question, count=1)
    return f"{question}\n{RARER_FALLBACK}"


def _more_steps(question: str, salt: int) -> str:
    return f"{question}\n{_pick(STEPS, salt)}"


def _erroneous_code(question: str, salt: int) -> str:
    snippet = _pick(BUGGY_SNIPPETS, salt)
    return (f"{question}\nAs a reference, here is a piece of erroneous code to avoid:\n"
            f"```python\n{snippet}\n```")


def _complexity_bound(question: str, salt: int) -> str:
    return f"{question}\n{_pick(BOUNDS, salt)}"


def _rarer_variant(question: str, salt: int) -> str:
    first_line = question.splitlines()[0] if question else question
    return f"{first_line} Apply it to {_pick(RARE_SETTINGS, salt)}, a rarer kind of input."


RULES: dict[str, Callable[[str, int], str]] = {
    "constraints": _add_constraint,
    "specific_requirement": _rarer_requirement,
    "concretizing": _rarer_requirement,
    "reasoning_steps": _more_steps,
    "deepening": _more_steps,
    "erroneous_code": _erroneous_code,
    "complexity": _complexity_bound,
    "breadth": _rarer_variant,
}
