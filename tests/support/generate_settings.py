"""A `generate` recipe and its runtime knobs from one set of keyword values, each to its own class."""

from __future__ import annotations

import dataclasses
from typing import Any

from evolcoder.generate.config import GenerateConfig, GenerateRuntime

# `server` goes to the recipe (the endpoint); its runtime part keeps its defaults here
RUNTIME_KNOBS = frozenset(f.name for f in dataclasses.fields(GenerateRuntime)) - {"server"}


def generate_settings(**values: Any) -> tuple[GenerateConfig, GenerateRuntime]:
    """(GenerateConfig, GenerateRuntime) from `values`: the knobs of `runtime.generate` to the runtime class."""
    return (GenerateConfig(**{k: v for k, v in values.items() if k not in RUNTIME_KNOBS}),
            GenerateRuntime(**{k: v for k, v in values.items() if k in RUNTIME_KNOBS}))
