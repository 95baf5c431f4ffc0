"""Sandboxed execution of untrusted, model-written code: `Sandbox(...).run([Job(...)])`.

The names are loaded on first use, so that a worker process, which imports
`evolcoder.exec.worker`, stays small: every page it maps is copied at each fork.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evolcoder.exec.sandbox import Sandbox, WorkerError
    from evolcoder.exec.types import Job, Limits, Outcome, Verdict

_HOMES = {
    "Sandbox": "evolcoder.exec.sandbox",
    "WorkerError": "evolcoder.exec.sandbox",
    "Job": "evolcoder.exec.types",
    "Limits": "evolcoder.exec.types",
    "Outcome": "evolcoder.exec.types",
    "Verdict": "evolcoder.exec.types",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'evolcoder.exec' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
