"""The `verify` params section and its runtime knobs (`runtime.verify`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from evolcoder.config import check
from evolcoder.exec import Limits


@dataclass(frozen=True)
class VerifyConfig:
    """How every answer's code is checked (`evolcoder.verify.verify`).

    `mode`: `none` checks nothing (the paper's recipe), `compile` that the Python code parses,
    `run` that it runs in the sandbox without raising, `tests` that it passes assert-based
    tests one more teacher call writes. `timeout_s` and `memory_mb` limit each run, and a run
    printing more than `max_output_kb` fails.
    """

    mode: Literal["none", "compile", "run", "tests"] = "run"
    timeout_s: float = 3.0
    memory_mb: int = 2048
    max_output_kb: int = 64

    def __post_init__(self) -> None:
        check(self.timeout_s > 0, "verify.timeout_s", f"must be > 0, got {self.timeout_s}")
        check(self.memory_mb >= 64, "verify.memory_mb", f"must be >= 64, got {self.memory_mb}")
        check(self.max_output_kb >= 1, "verify.max_output_kb", f"must be >= 1, got {self.max_output_kb}")

    @property
    def max_output_bytes(self) -> int:
        return self.max_output_kb * 1024

    def limits(self) -> Limits:
        """Sandbox limits of one answer; one byte of output more than allowed is captured, so
        that a run printing too much can be told from one printing exactly the limit."""
        return Limits(wall_s=self.timeout_s, memory_mb=self.memory_mb, output_bytes=self.max_output_bytes + 1)


@dataclass(frozen=True)
class VerifyRuntime:
    """`workers` sandbox processes (null: all usable cores): speed, not labels (params: `runtime.verify`)."""

    workers: int | None = None

    def __post_init__(self) -> None:
        check(self.workers is None or self.workers >= 1, "runtime.verify.workers", "must be >= 1 (or null: all cores)")
