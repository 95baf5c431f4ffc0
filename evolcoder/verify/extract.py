"""The Python code of an answer, by the project's extraction rules, examples included.

`evolcoder.benchmarks.extract.program_of` picks the code of a response as WizardCoder's
scripts do, without the cut at a benchmark's markers (`# Example usage`, ...): verification
runs the examples. An unfenced answer that is a whole program (Code Alpaca's answers carry no
fence, and many are scripts without a `def`) is taken whole.
"""

from __future__ import annotations

import ast
import functools
import warnings

from evolcoder.benchmarks.extract import FENCE, program_of


@functools.lru_cache(maxsize=256)
def parse(code: str) -> ast.Module | None:
    """The syntax tree of `code`, or None when it is not valid Python. Cached: an answer is
    parsed while its code is found, classified and compiled; callers must not change the tree."""
    try:
        with warnings.catch_warnings():  # invalid escapes in strings warn; parsing is all we ask
            warnings.simplefilter("ignore")
            return ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def is_program(tree: ast.Module | None) -> bool:
    """Whether a parsed text does something: a statement other than a bare value.

    `true`, `35`, `[1, 2, 3]`, `{"name": "John"}` or `Max: 20` parse as Python but are values
    (an output, a JSON document, labels), not code to run; `print(x)`, `x = 1` or a `def` are.
    """
    if tree is None:
        return False
    return any(_does_something(stmt) for stmt in tree.body)


def _does_something(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Expr):
        return _calls(stmt.value)
    # `Max: 20` or `apple: temperate` (an answer listing labels) parse as bare annotations.
    return not (isinstance(stmt, ast.AnnAssign) and stmt.value is None)


def _calls(node: ast.AST) -> bool:
    return any(isinstance(n, (ast.Call, ast.Lambda, ast.Await, ast.NamedExpr)) for n in ast.walk(node))


def answer_code(answer: str) -> str:
    """The code an answer holds ('' when none), by `extract_code`'s rules but not cut."""
    text = answer.replace("\r", "")
    if FENCE not in text and is_program(parse(text)):
        return text.strip()
    return program_of(text)
