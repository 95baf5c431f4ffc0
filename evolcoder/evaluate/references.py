"""Expected outputs of EvalPlus problems: the canonical solution run on base and plus inputs.

As EvalPlus's `get_groundtruth` does, the canonical solutions (trusted benchmark code) run
outside the sandbox, here in a pool of forked processes of a Python started with the
sandbox's hash seed (so that an output whose order follows a set of strings is the one a
sample computes), each input under the reference time-out. The time of each input is CPU time,
which the load of the machine does not inflate: EvalPlus's per-input limits (a multiple of
it) are CPU-time limits here. Results are cached on disk per problem, keyed by a hash of
everything that decides them: `<digest>.outputs` holds one pickle per output,
`<digest>.json` their offsets and the reference CPU seconds. Outputs can be huge
(Mbpp/255's come to 1 GB), so a sample's check reads only the outputs it compares, from the
file, instead of receiving them all.
"""

from __future__ import annotations

import copy
import hashlib
import json
import multiprocessing
import os
import pickle
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalplus.eval._special_oracle import MBPP_OUTPUT_NOT_NONE_TASKS
from tqdm import tqdm

from evolcoder.benchmarks import Problem, spec_of
from evolcoder.errors import EvolcoderError
from evolcoder.exec.sandbox import HASH_SEED, python_path
from evolcoder.jsonl import atomic_open, write_json
from evolcoder.evaluate.oracles import quiet, time_limit

INPUT_SETS = ("base", "plus")
FORMAT_VERSION = 2  # 2: reference times are CPU seconds; keyed by the reference program


class ReferenceOutputsError(EvolcoderError):
    """A canonical solution failed while computing expected outputs."""


@dataclass(frozen=True)
class Reference:
    """Where a problem's expected outputs are, and the reference seconds per input set."""

    outputs_file: Path
    offsets: dict[str, list[tuple[int, int]]]  # (offset, size) of each pickled output
    seconds: dict[str, list[float]]  # CPU seconds of each input
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
        FORMAT_VERSION, problem.benchmark, problem.task_id, problem.entry_point, problem.reference,
        problem.base_inputs, problem.plus_inputs,
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
        tqdm.write(f"computing expected outputs of {len(todo)} problem(s), cached in {folder}", file=sys.stderr)
        errors = _compute_with_sandbox_hash_seed(todo, folder, workers, timeout_s)
        if errors:
            raise ReferenceOutputsError(
                f"{len(errors)} canonical solution(s) failed while computing expected outputs: "
                + "; ".join(errors[:10]) + ". The benchmark file or the environment is broken"
                " (or raise evaluate.reference_timeout_s)."
            )
    return {p.task_id: _read(folder, problem_digest(p)) for p in problems}


def _compute_with_sandbox_hash_seed(todo: list[Problem], folder: Path, workers: int, timeout_s: float) -> list[str]:
    """`compute_all` in a Python started with the sandbox's PYTHONHASHSEED (this one's seed
    is fixed at its start); its error messages."""
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".todo-", suffix=".pickle") as spec:
        pickle.dump((todo, folder, workers, timeout_s), spec, protocol=pickle.HIGHEST_PROTOCOL)
        spec.flush()
        env = {**os.environ, "PYTHONHASHSEED": HASH_SEED, "PYTHONPATH": python_path()}
        done = subprocess.run([sys.executable, "-m", __name__, spec.name], env=env, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise ReferenceOutputsError(f"computing expected outputs failed (exit status {done.returncode}); "
                                    "its error output is above")
    return json.loads(done.stdout)


def compute_all(todo: list[Problem], folder: Path, workers: int, timeout_s: float) -> list[str]:
    """Run the canonical solutions of `todo` in a pool of forked processes; error messages."""
    fork = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=fork) as pool:
        jobs = [pool.submit(_compute, p, folder, timeout_s) for p in todo]
        return [e for e in (j.result() for j in tqdm(jobs, desc="expected outputs", unit="task")) if e]


def _compute(problem: Problem, folder: Path, timeout_s: float) -> str | None:
    """Run the canonical solution on every input; write the cache files; an error message or None."""
    digest = problem_digest(problem)
    meta: dict[str, Any] = {"task_id": problem.task_id, "offsets": {}, "seconds": {}}
    not_none = spec_of(problem).oracles == "mbpp" and problem.entry_point in MBPP_OUTPUT_NOT_NONE_TASKS
    try:
        with atomic_open(folder / f"{digest}.outputs", "wb") as out, time_limit(timeout_s, timeout_s), quiet():
            for name, inputs in problem_inputs(problem).items():
                namespace: dict[str, Any] = {}  # afresh per set, as EvalPlus's trusted_exec does
                exec(problem.reference, namespace)
                fn = namespace[problem.entry_point]
                meta["offsets"][name], meta["seconds"][name] = _run_inputs(fn, inputs, not_none, out)
    except BaseException as e:  # noqa: BLE001 - reported with the task id, stage fails
        return f"{problem.task_id}: {type(e).__name__}: {e}"[:300]
    write_json(folder / f"{digest}.json", meta)
    return None


def _run_inputs(fn: Any, inputs: list, not_none: bool, out: Any) -> tuple[list, list]:
    offsets, seconds = [], []
    for inp in inputs:
        inp = copy.deepcopy(inp)
        start = time.process_time()
        value = fn(*inp)
        seconds.append(time.process_time() - start)
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


if __name__ == "__main__":  # python -m evolcoder.evaluate.references SPEC_PICKLE (see above)
    with open(sys.argv[1], "rb") as f:
        print(json.dumps(compute_all(*pickle.load(f))))
