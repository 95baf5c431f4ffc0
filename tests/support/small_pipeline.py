"""A copy of the repository with a smaller profile (minutes on 2 cores), after one `dvc repro`;
and copies of that reproduced repository for tests that change it (DVC reruns only what changed)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from tests.support.data import SHARED_DATA
from evolcoder.benchmarks import get
from evolcoder.jsonl import write_jsonl
from tests.support.repo_copy import commit_all, copy_repo, dvc, edit_params

N_TASKS = 10
# Another machine, as far as this one can play it: twice the threads, and kernel choices of its
# own in the environment (ATen's baseline kernels, MKL's SSE2 path), each of which alone changes
# the trained bytes where the stages let it through. (A wider CPU, AVX-512's, is not at hand.)
ANOTHER_MACHINE = {"OMP_NUM_THREADS": "2", "ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"}
MBPP_TEST = SHARED_DATA / "mbpp_test.jsonl"
OVERRIDES = {
    ("seed", "limit"): 16,
    ("evolve", "rounds"): 1,
    ("dataset", "rounds"): [0, 1],
    ("train", "max_steps"): 4,
    ("generate", "max_new_tokens"): 32,
    ("runtime", "generate", "num_shards"): 1,  # one generation process per benchmark: a process start less each
}


def write_first_humaneval_tasks(dest: Path, n_tasks: int) -> None:
    """HumanEval's first `n_tasks` tasks as the user's own data/benchmarks/humaneval.jsonl (no
    param limits the tasks a benchmark scores); pair it with `without_humaneval_fetch`."""
    write_jsonl(dest / "data/benchmarks/humaneval.jsonl", get("humaneval").public_rows()[:n_tasks])


def without_humaneval_fetch(params: dict) -> None:
    """Drop the default params' fetch of the whole of HumanEval, whose output is the user's file now."""
    # a new mapping, not a deletion: ruamel cannot write a commented mapping left empty
    params["fetch"] = {name: entry for name, entry in params["fetch"].items() if name != "humaneval"}


def smaller_profile(dest: Path) -> None:
    """The first tasks of each benchmark as the user's own files in data/benchmarks/ (in place of
    the default profile's fetch of the whole of HumanEval), and the overrides above, written into
    the default params (conf/config.yaml) so that `dvc exp run` keeps them."""
    write_first_humaneval_tasks(dest, N_TASKS)
    with_mbpp = MBPP_TEST.is_file()
    if with_mbpp:  # as CI does with the real file, on its first tasks to keep it short
        (dest / "data/benchmarks/mbpp.jsonl").write_text("".join(MBPP_TEST.read_text().splitlines(True)[:N_TASKS]))

    def shrink(params: dict) -> None:
        without_humaneval_fetch(params)
        if with_mbpp:
            params["benchmarks"].append("mbpp")
        for keys, value in OVERRIDES.items():
            section = params
            for key in keys[:-1]:
                section = section[key]
            section[keys[-1]] = value

    edit_params(dest, shrink)


def small_pipeline(dest: Path, machine: Mapping[str, str] | None = None) -> Path:
    """Copy, shrink, commit, `dvc repro` (with `machine`'s variables in its environment), commit again."""
    copy_repo(dest)
    smaller_profile(dest)
    # the user's own benchmark files, tracked as the README says (a queued experiment gets them from the cache)
    dvc(dest, "add", *(str(p.relative_to(dest)) for p in sorted((dest / "data/benchmarks").glob("*.jsonl"))))
    commit_all(dest, "smaller profile")
    dvc(dest, "repro", env=machine)
    commit_all(dest, "repro")
    return dest


def copy_reproduced(repo: Path, dest: Path) -> Path:
    """`repo` after its repro, copied with its git history, DVC cache and outputs (not DVC's
    locks and queue in .dvc/tmp)."""
    return Path(shutil.copytree(repo, dest, symlinks=True,
                                ignore=lambda folder, _: ["tmp"] if folder == str(repo / ".dvc") else []))
