"""The benchmarks: one module each, found by the registry; everything else asks it.

    from evolcoder.benchmarks import get, load_benchmark
    problems = load_benchmark("mbpp", "../shared/data/mbpp_test.jsonl")
    prompt = get("mbpp").prompt(problems[0])

To add a benchmark, add a module to this package defining an instance of a `Benchmark`
subclass (see `humaneval.py` for a small one); enable it under `benchmarks:` in params.yaml.
"""

from __future__ import annotations

from pathlib import Path

from evolcoder.benchmarks.base import Benchmark, BenchmarkSource, BenchmarkUnavailable, Column, Problem, Release
from evolcoder.benchmarks.registry import all_benchmarks, get, names
from evolcoder.config import coerce, read_yaml
from evolcoder.errors import EvolcoderError

__all__ = ["Benchmark", "BenchmarkSource", "BenchmarkUnavailable", "Column", "Problem", "Release", "all_benchmarks",
           "get", "load_benchmark", "load_enabled_benchmark", "names", "spec_of"]


def load_benchmark(name: str, path: str | None = None, version: str | None = None) -> list[Problem]:
    """Problems of benchmark `name` from `path` (local JSONL or .jsonl.gz) or its default public
    source; with `version`, that published version (a file given must have its tasks)."""
    benchmark = get(name)
    problems = benchmark.load(path) if version is None else benchmark.load_version(path, version)
    if not problems:
        raise BenchmarkUnavailable(f"{name}: {path or 'default source'} holds no problems")
    return problems


def enabled_benchmarks(params: str | Path) -> dict[str, BenchmarkSource]:
    """The `benchmarks` section of a params file: each enabled benchmark and its source."""
    sources = coerce(read_yaml(params).get("benchmarks") or {}, dict[str, BenchmarkSource], "benchmarks")
    for name in sources:
        if name not in names():
            raise EvolcoderError(f"benchmarks.{name}: unknown benchmark; choose from {', '.join(names())}")
    return sources


def load_enabled_benchmark(params: str | Path, name: str) -> list[Problem]:
    """The problems of `name` from its source in the params file's `benchmarks` section;
    an error naming the enabled ones if it is not there."""
    sources = enabled_benchmarks(params)
    if name not in sources:
        raise EvolcoderError(f"benchmark {name!r} is not enabled in {params}'s benchmarks section "
                             f"(enabled: {', '.join(sources) or 'none'})")
    return load_benchmark(name, sources[name].path, sources[name].version)


def spec_of(problem: Problem) -> Benchmark:
    """The benchmark a problem belongs to."""
    return get(problem.benchmark)
