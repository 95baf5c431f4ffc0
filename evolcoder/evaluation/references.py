"""Expected outputs of EvalPlus problems: the canonical solution run on base and plus inputs.

As EvalPlus's `get_groundtruth` does, the canonical solutions (trusted benchmark code) run
outside the sandbox, here in a pool of forked processes, each input under the reference
time-out. They are cached on disk per problem, keyed by a hash of everything that decides
them: `<digest>.outputs` holds one pickle per output, `<digest>.json` their offsets and the
reference times. Outputs can be huge (Mbpp/255's come to 1 GB), so a sample's check reads
only the outputs it compares, from the file, instead of receiving them all.
"""

from __future__ import annotations

import copy
import hashlib
import json
import multiprocessing
import pickle
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalplus.eval._special_oracle import MBPP_OUTPUT_NOT_NONE_TASKS
from tqdm import tqdm

from evolcoder.benchmarks import Problem, spec_of
from evolcoder.errors import EvolcoderError
from evolcoder.jsonl import atomic_open, write_json
from evolcoder.evaluation.oracles import quiet, time_limit

INPUT_SETS = ("base", "plus")
FORMAT_VERSION = 1


class ReferenceOutputsError(EvolcoderError):
    """A canonical solution failed while computing expected outputs."""


@dataclass(frozen=True)
class Reference:
    """Where a problem's expected outputs are, and the reference seconds per input set."""

    outputs_file: Path
    offsets: dict[str, list[tuple[int, int]]]  # (offset, size) of each pickled output
    seconds: dict[str, list[float]]
    digest: str

    def outputs(self, name: str) -> list[Any]:
        """All expected outputs of one input set (use for small problems only)."""
        with open(self.outputs_file, "rb") as f:
            return [read_output(f, offset, size) for offset, size in self.offsets[name]]


def read_output(f: Any, offset: int, size: int) -> Any:
    f.seek(offset)
    return pickle.loads(f.read(size))


def problem_digest(problem: Problem) -> str:
    """A hash of the fields that decide a problem's expected outputs."""
    fields = [
        FORMAT_VERSION, problem.benchmark, problem.task_id, problem.entry_point, problem.prompt,
        problem.canonical_solution, problem.base_inputs, problem.plus_inputs,
    ]
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode("utf-8")).hexdigest()


def problem_inputs(problem: Problem) -> dict[str, list[Any]]:
    """Base and plus inputs as Python values, decoded as the problem's benchmark says."""
    return spec_of(problem).inputs(problem)


def load_references(
    problems: list[Problem], cache_dir: Path, workers: int, timeout_s: float
) -> dict[str, Reference]:
    """Expected outputs of each problem: from the cache, else computed and cached first."""
    folder = cache_dir / "expected"
    todo = [p for p in problems if not (folder / f"{problem_digest(p)}.json").is_file()]
    if todo:
        folder.mkdir(parents=True, exist_ok=True)
        tqdm.write(f"computing expected outputs of {len(todo)} problem(s), cached in {folder}")
        fork = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=fork) as pool:
            jobs = [pool.submit(_compute, p, folder, timeout_s) for p in todo]
            errors = [e for e in (j.result() for j in tqdm(jobs, desc="expected outputs", unit="task")) if e]
        if errors:
            raise ReferenceOutputsError(
                f"{len(errors)} canonical solution(s) failed while computing expected outputs: "
                + "; ".join(errors[:10]) + ". The benchmark file or the environment is broken"
                " (or raise evaluate.reference_timeout_s)."
            )
    return {p.task_id: _read(folder, problem_digest(p)) for p in problems}


def _compute(problem: Problem, folder: Path, timeout_s: float) -> str | None:
    """Run the canonical solution on every input; write the cache files; an error message or None."""
    digest = problem_digest(problem)
    namespace: dict[str, Any] = {}
    meta: dict[str, Any] = {"task_id": problem.task_id, "offsets": {}, "seconds": {}}
    not_none = spec_of(problem).oracles == "mbpp" and problem.entry_point in MBPP_OUTPUT_NOT_NONE_TASKS
    try:
        with atomic_open(folder / f"{digest}.outputs", "wb") as out, time_limit(timeout_s), quiet():
            exec(problem.reference, namespace)
            fn = namespace[problem.entry_point]
            for name, inputs in problem_inputs(problem).items():
                meta["offsets"][name], meta["seconds"][name] = _run_inputs(fn, inputs, not_none, out)
    except BaseException as e:  # noqa: BLE001 - reported with the task id, stage fails
        return f"{problem.task_id}: {type(e).__name__}: {e}"[:300]
    write_json(folder / f"{digest}.json", meta)
    return None


def _run_inputs(fn: Any, inputs: list, not_none: bool, out: Any) -> tuple[list, list]:
    offsets, seconds = [], []
    for inp in inputs:
        inp = copy.deepcopy(inp)
        start = time.time()
        value = fn(*inp)
        seconds.append(time.time() - start)
        blob = pickle.dumps(value is not None if not_none else value, protocol=pickle.HIGHEST_PROTOCOL)
        offsets.append((out.tell(), len(blob)))
        out.write(blob)
    return offsets, seconds


def _read(folder: Path, digest: str) -> Reference:
    meta = json.loads((folder / f"{digest}.json").read_text(encoding="utf-8"))
    return Reference(
        outputs_file=folder / f"{digest}.outputs",
        offsets={k: [tuple(x) for x in v] for k, v in meta["offsets"].items()},
        seconds=meta["seconds"],
        digest=digest,
    )
