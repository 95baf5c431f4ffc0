"""The trusted check of `tests` mode, called by a sandbox worker after the answer's code ran.

Each top-level statement of the teacher's test block runs on its own, in the answer's
namespace, so one wrong assert does not hide the others: the record says how many failed and
why, which tells a wrong answer (some asserts fail) from a test that may be wrong itself
(every statement fails, e.g. it calls a name the answer does not define). It runs inside the
sandbox, with the answer; it imports nothing beyond `ast`, since workers copy every page at
each fork.
"""

from __future__ import annotations

import ast
from typing import Any

MAX_FAILURES = 5  # failures recorded per item (all are counted)
_ERROR_CHARS = 300


def run_asserts(namespace: dict[str, Any], tests: str) -> dict[str, Any]:
    """Run `tests` statement by statement in `namespace`; count and describe the failures.

    An `Exception` fails one statement; anything else (`SystemExit`, `KeyboardInterrupt`)
    leaves, and the sandbox fails the whole run.
    """
    tree = ast.parse(tests, "<test>")
    failures = []
    for stmt in tree.body:
        try:
            exec(compile(ast.Module(body=[stmt], type_ignores=[]), "<test>", "exec"), namespace)
        except Exception as exc:
            source = (ast.get_source_segment(tests, stmt) or "")[:_ERROR_CHARS]
            failures.append({"line": stmt.lineno, "source": source, "error": _describe(exc)})
    return {"statements": len(tree.body), "failed": len(failures), "failures": failures[:MAX_FAILURES]}


def _describe(exc: Exception) -> str:
    try:
        message = str(exc)
    except Exception:  # an answer's exception class whose __str__ raises
        message = ""
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text if len(text) <= _ERROR_CHARS else text[: _ERROR_CHARS - 3] + "..."
