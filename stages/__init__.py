"""Thin DVC stage entry points (`python -m stages.<name>`): read params, call evolcoder, write outputs."""

from __future__ import annotations

import sys
from collections.abc import Callable

from evolcoder.errors import EvolcoderError

PARAMS_FILE = "params.yaml"


def stage_argument(stage: str, item: str = "benchmark", what: str = "a key of the benchmarks params") -> str:
    """The item a foreach stage (`python -m stages.generate humaneval`) is run for."""
    if len(sys.argv) != 2:
        raise EvolcoderError(f"usage: python -m stages.{stage} <{item}> ({what})")
    return sys.argv[1]


def run_stage(name: str, main: Callable[[], None]) -> None:
    """Run a stage's main; an EvolcoderError ends it with its message and exit status 1."""
    try:
        main()
    except EvolcoderError as e:
        print(f"{name}: error: {e}", file=sys.stderr)
        sys.exit(1)
