"""Thin DVC stage entry points (`python -m stages.<name>`): read params, call evolcoder, write outputs."""

from __future__ import annotations

import sys
from collections.abc import Callable

from evolcoder.errors import EvolcoderError

PARAMS_FILE = "params.yaml"


def run_stage(name: str, main: Callable[[], None]) -> None:
    """Run a stage's main; an EvolcoderError ends it with its message and exit status 1."""
    try:
        main()
    except EvolcoderError as e:
        print(f"{name}: error: {e}", file=sys.stderr)
        sys.exit(1)
