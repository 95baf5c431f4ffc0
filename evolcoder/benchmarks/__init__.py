"""The benchmarks: one module each, listed in the registry; everything else asks it.

    from evolcoder.benchmarks import get, load_benchmark
    problems = load_benchmark("mbpp", "data/benchmarks/mbpp.jsonl")
    prompt = get("mbpp").prompt(problems[0])

To add a benchmark, add a module to this package defining an instance of a `Benchmark`
subclass (see `humaneval.py` for a small one), list the instance in `registry.BENCHMARKS`,
and name it under `benchmarks:` in params.yaml.

In the pipeline, benchmark `<name>` is read from `data/benchmarks/<name>.jsonl`
(`evolcoder.files.paths.benchmark_problems`), a file DVC hashes: written by a `fetch` entry from the benchmark's public source, or your own copy.
"""

from __future__ import annotations

from pathlib import Path

from evolcoder.benchmarks.base import Benchmark, Column, Problem, Release
from evolcoder.benchmarks.registry import BENCHMARKS, all_benchmarks, get, names
from evolcoder.benchmarks.extract import extract_code, program_of
from evolcoder.config import coerce, read_yaml
from evolcoder.errors import BenchmarkUnavailable, EvolcoderError
from evolcoder.files.paths import benchmark_problems

__all__ = ["BENCHMARKS", "Benchmark", "BenchmarkUnavailable", "Column", "Problem", "Release", "all_benchmarks",
           "enabled_benchmarks", "extract_code", "get", "load_benchmark", "load_enabled_benchmark",
           "load_file_benchmark", "names", "program_of", "spec_of"]

def load_benchmark(name: str, path: str | None = None, version: str | None = None) -> list[Problem]:
    """Problems of benchmark `name` from `path` (local JSONL or .jsonl.gz) or its default public
    source; with `version`, that published version (a file given must have its tasks)."""
    benchmark = get(name)
    problems = benchmark.load(path) if version is None else benchmark.load_version(path, version)
    if not problems:
        raise BenchmarkUnavailable(f"{name}: {path or 'default source'} holds no problems")
    return problems


def enabled_benchmarks(params: str | Path) -> list[str]:
    """The `benchmarks` list of a params file: the benchmarks scored, each a registered name."""
    listed = coerce(read_yaml(params).get("benchmarks") or [], list[str], "benchmarks")
    unknown = [name for name in listed if name not in names()]
    if unknown:
        raise EvolcoderError(f"benchmarks: unknown {', '.join(unknown)}; choose from {', '.join(names())}")
    return listed


def load_file_benchmark(name: str) -> list[Problem]:
    """Benchmark `name` from its pipeline file, or an error saying how to put it there."""
    path = benchmark_problems(name)
    if not path.is_file():
        raise BenchmarkUnavailable(
            f"{path} not found: add a fetch entry `{name}: {{benchmark: {name}, to: {path}}}` to the params "
            f"(its public source: {get(name).default_source}), or copy your JSONL of its problems there "
            f"(and `dvc add {path}`)")
    return load_benchmark(name, str(path))


def load_enabled_benchmark(params: str | Path, name: str) -> list[Problem]:
    """The problems of `name`, which the params file's `benchmarks` list must name."""
    enabled = enabled_benchmarks(params)
    if name not in enabled:
        raise EvolcoderError(f"benchmark {name!r} is not in {params}'s benchmarks list "
                             f"(listed: {', '.join(enabled) or 'none'})")
    return load_file_benchmark(name)


def spec_of(problem: Problem) -> Benchmark:
    """The benchmark a problem belongs to."""
    return get(problem.benchmark)
