"""The Python code of an answer, by the project's extraction rules, examples included.

`evolcoder.evaluation.extract.extract_code` picks the code of a response as WizardCoder's
scripts do, then cuts it at a benchmark's markers (`if __name__ == "__main__":`,
`# Example usage`, `# Test examples`): a benchmark's own test replaces the examples there.
Verification runs the examples, so this wrapper hides those markers from the cut and puts
them back. An unfenced answer that is a whole program (Code Alpaca's answers carry no fence,
and many are scripts without a `def`) is taken whole.
"""

from __future__ import annotations

import ast
import functools
import warnings

from evolcoder.evaluation.extract import FENCE, cut_markers, extract_code

_MARKERS = cut_markers("mbpp")  # the longest list: every marker any benchmark cuts at
_HIDDEN = tuple(f"\ue000{i}\ue001" for i in range(len(_MARKERS)))  # private-use characters


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
    for marker, hidden in zip(_MARKERS, _HIDDEN):
        text = text.replace(marker, hidden)
    code = extract_code(text)
    for marker, hidden in zip(_MARKERS, _HIDDEN):
        code = code.replace(hidden, marker)
    return code
