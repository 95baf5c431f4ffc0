"""Thin DVC stage entry points (`python -m stages.<name>`): read params, call evolcoder, write outputs."""

from __future__ import annotations

import sys
from collections.abc import Callable

from evolcoder.errors import EvolcoderError

PARAMS_FILE = "params.yaml"


def benchmark_argument(stage: str) -> str:
    """The benchmark a per-benchmark stage (`python -m stages.generate humaneval`) is run for."""
    if len(sys.argv) != 2:
        raise EvolcoderError(f"usage: python -m stages.{stage} <benchmark> (a key of the benchmarks params)")
    return sys.argv[1]


def run_stage(name: str, main: Callable[[], None]) -> None:
    """Run a stage's main; an EvolcoderError ends it with its message and exit status 1."""
    try:
        main()
    except EvolcoderError as e:
        print(f"{name}: error: {e}", file=sys.stderr)
        sys.exit(1)
