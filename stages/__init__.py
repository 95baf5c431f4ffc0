"""The DVC stages (`python -m stages.<name>`): each reads its argument, calls its stage's entry
function (`evolcoder/<name>/stage.py: run`) with the params file, and prints what it returns."""

from __future__ import annotations

import sys
from collections.abc import Callable

from evolcoder.errors import EvolcoderError


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
