"""The benchmark registry: every benchmark, listed once, in table order.

Adding a benchmark is one module of this package (see `humaneval.py` for a small one) and its
instance in `BENCHMARKS`; generation, evaluation, decontamination and the report find it by name.
"""

from __future__ import annotations

from evolcoder.benchmarks.base import Benchmark
from evolcoder.benchmarks.humaneval import HUMANEVAL
from evolcoder.benchmarks.humanevalplus import HUMANEVALPLUS
from evolcoder.benchmarks.mbpp import MBPP, MBPP_VALID
from evolcoder.benchmarks.mbppplus import MBPPPLUS
from evolcoder.errors import UnknownBenchmark

BENCHMARKS: tuple[Benchmark, ...] = (HUMANEVAL, HUMANEVALPLUS, MBPP, MBPPPLUS, MBPP_VALID)
_BY_NAME = {benchmark.name: benchmark for benchmark in BENCHMARKS}
assert len(_BY_NAME) == len(BENCHMARKS), "two benchmarks share a name"


def names() -> list[str]:
    """Every registered benchmark's name, in table order."""
    return list(_BY_NAME)


def get(name: str) -> Benchmark:
    """The benchmark called `name`; an UnknownBenchmark listing the known ones otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownBenchmark(f"unknown benchmark {name!r}; choose one of {', '.join(names())}") from None


def all_benchmarks() -> list[Benchmark]:
    return list(BENCHMARKS)
