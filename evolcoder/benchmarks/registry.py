"""The benchmark registry: every `Benchmark` instance defined by a module of this package.

Adding a benchmark is adding one module here; generation, evaluation, decontamination and
the report find it by name.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from pathlib import Path

from evolcoder.benchmarks.base import Benchmark

_INFRASTRUCTURE = {"base", "registry", "sources"}


@functools.cache
def _registry() -> dict[str, Benchmark]:
    found: dict[str, Benchmark] = {}
    for module_info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module_info.name in _INFRASTRUCTURE:
            continue
        module = importlib.import_module(f"evolcoder.benchmarks.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, Benchmark):
                if value.name in found and found[value.name] is not value:
                    raise RuntimeError(f"two benchmarks are named {value.name!r} ({module.__name__})")
                found[value.name] = value
    return dict(sorted(found.items(), key=lambda item: (item[1].order, item[0])))


def names() -> list[str]:
    """Every registered benchmark's name, in table order."""
    return list(_registry())


def get(name: str) -> Benchmark:
    """The benchmark called `name`; a ValueError listing the known ones otherwise."""
    try:
        return _registry()[name]
    except KeyError:
        raise ValueError(f"unknown benchmark {name!r}; choose one of {', '.join(names())}") from None


def all_benchmarks() -> list[Benchmark]:
    return list(_registry().values())
