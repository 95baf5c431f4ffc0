"""An `llm` recipe and its runtime knobs from one set of keyword values, each to its own class."""

from __future__ import annotations

import dataclasses
from typing import Any

from evolcoder.llm import LLMConfig, LLMRuntime

RUNTIME_KNOBS = frozenset(f.name for f in dataclasses.fields(LLMRuntime))


def llm_settings(**values: Any) -> tuple[LLMConfig, LLMRuntime]:
    """(LLMConfig, LLMRuntime) from `values`: the knobs of `runtime.llm` to the runtime class."""
    return (LLMConfig(**{k: v for k, v in values.items() if k not in RUNTIME_KNOBS}),
            LLMRuntime(**{k: v for k, v in values.items() if k in RUNTIME_KNOBS}))
