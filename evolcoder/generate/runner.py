"""Generation for one benchmark: plan shards, run them (in parallel or one per node), merge, and
write the meta file that names what produced the samples (`evolcoder.generate.provenance`).

Shard files live in a work folder beside the output, with `plan.json` holding a
fingerprint of everything that decides the text (settings, prompts, model files). A run
whose fingerprint matches resumes the shard files; any other starts them afresh, so a
changed model or prompt never mixes with stale generations.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from multiprocessing.connection import wait
from pathlib import Path

from tqdm import tqdm

from evolcoder.benchmarks import Problem, get
from evolcoder.config import recipe
from evolcoder.cpu_numerics import PORTABLE_KERNELS, environment
from evolcoder.errors import EvolcoderError
from evolcoder.generate.backend import Backend, Completion, Job
from evolcoder.generate.config import GenerateConfig, GenerateRuntime
from evolcoder.generate.placement import shard_gpus, usable_gpus
from evolcoder.files.paths import generation_meta
from evolcoder.generate.provenance import describe, record_server, server_report, warn_if_mixed
from evolcoder.generate.server import ModelServer
from evolcoder.generate.shards import ShardFile, merged_rows, plan_shards, shard_path
from evolcoder.jsonl import read_json, read_jsonl, write_json, write_jsonl

PLAN_FILE = "plan.json"


def make_jobs(benchmark: str, problems: Sequence[Problem], tabs: bool, style: str = "alpaca") -> list[Job]:
    """One job per problem, in the benchmark's order, with the shared prompt template."""
    spec = get(benchmark)
    return [Job(p.task_id, spec.prompt(p, tabs=tabs, style=style)) for p in problems]


def shard_jobs(jobs: Sequence[Job], index: int, total: int) -> list[Job]:
    """The jobs of shard `index` of `total`, longest prompt first; the same plan on every node."""
    plan = plan_shards([len(job.prompt) for job in jobs], total)
    return [jobs[i] for i in plan[index]]


def fingerprint(config: GenerateConfig, jobs: Sequence[Job], facts: dict) -> str:
    """sha256 over the decoding settings, the numerics, the prompts and the model's files (those the
    transformers backend loads, or a started server serves)."""
    h = hashlib.sha256()
    settings = recipe(config)  # runtime knobs (shards, batch size, concurrency) split the work, not the text
    h.update(json.dumps([settings, facts], sort_keys=True, default=str).encode())
    for job in jobs:
        h.update(json.dumps([job.task_id, job.prompt]).encode())
    if config.backend == "transformers" or config.server.command:
        for path in sorted(p for p in Path(config.model).rglob("*") if p.is_file()):
            h.update(str(path.relative_to(config.model)).encode())
            with open(path, "rb") as f:
                h.update(hashlib.file_digest(f, "sha256").digest())
    return h.hexdigest()


def run_numerics(config: GenerateConfig, runtime: GenerateRuntime) -> dict:
    """The transformers backend's resolved dtype and device, torch and CUDA versions; {} for a server."""
    if config.backend != "transformers":
        return {}
    from evolcoder.generate.hf_backend import numerics

    return numerics(config, runtime)


def prepare_work_dir(work_dir: str | Path, config: GenerateConfig, runtime: GenerateRuntime,
                     jobs: Sequence[Job]) -> None:
    """Keep the shard files if they belong to this run's settings, numerics, prompts and model
    (re-split when only the number of shards changed, a runtime knob), else clear them."""
    work_dir = Path(work_dir)
    facts = run_numerics(config, runtime)
    plan = {"fingerprint": fingerprint(config, jobs, facts), "numerics": facts, "num_shards": runtime.num_shards,
            "n_tasks": len(jobs), "n_samples": config.n_samples}
    plan_file = work_dir / PLAN_FILE
    if plan_file.is_file():
        old = json.loads(plan_file.read_text())
        if old == plan:
            return
        if {**old, "num_shards": plan["num_shards"]} == plan:
            reshard(work_dir, old["num_shards"], config, runtime.num_shards, jobs)
            write_json(plan_file, plan)
            return
        print(f"generate: settings, numerics (dtype, device, torch, CUDA), prompts or model changed since "
              f"{work_dir} was written; starting afresh")
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)  # other nodes may be creating it too
    (work_dir / ".gitignore").write_text("*\n")  # resume state, not an artifact
    write_json(plan_file, plan)


def reshard(work_dir: Path, old_total: int, config: GenerateConfig, num_shards: int, jobs: Sequence[Job]) -> None:
    """Move the finished tasks of `old_total` shard files into `num_shards` new ones."""
    rows: dict[str, list[dict]] = {}
    for path in shard_files(work_dir, old_total):
        if path.is_file():
            with ShardFile(path, config.n_samples) as shard:  # the lock: no shard of the old plan still runs
                done = shard.recover()
            for row in read_jsonl(path):
                if row["task_id"] in done:
                    rows.setdefault(row["task_id"], []).append(row)
    for index in range(num_shards):
        mine = shard_jobs(jobs, index, num_shards)
        write_jsonl(shard_path(work_dir, index, num_shards),
                    (row for job in mine for row in rows.get(job.task_id, ())))
    for path in shard_files(work_dir, old_total):
        path.unlink(missing_ok=True)
    print(f"generate: {len(rows)} finished tasks re-split from {old_total} into {num_shards} shard files")


def make_backend(config: GenerateConfig, runtime: GenerateRuntime, work_dir: str | Path,
                 server: ModelServer | None = None) -> Backend:
    if config.backend == "openai":
        from evolcoder.generate.openai_backend import OpenAIBackend

        return OpenAIBackend(config, runtime.server, Path(work_dir) / "ledger", server)
    from evolcoder.generate.hf_backend import TransformersBackend

    return TransformersBackend(config, runtime)


@contextmanager
def open_backend(config: GenerateConfig, runtime: GenerateRuntime, work_dir: str | Path, index: int,
                 total: int) -> Iterator[Backend]:
    """The shard's backend; with `generate.server.command`, the server it starts on the shard's GPUs
    (its log in the work folder), stopped when the shard ends, however it ends. The report of the
    server that answers is kept in the work folder."""
    served = config.backend == "openai"
    started = None
    if served and config.server.command:
        gpus = shard_gpus(config, runtime, 1)
        started = ModelServer(config.server.command, config.model, gpus[0] if gpus else [], runtime.gpus_per_shard,
                              Path(work_dir) / f"server-{index}-of-{total}.log", runtime.server.ready_timeout_s)
    with started or nullcontext():
        if served and config.server.provider == "openai":
            record_server(work_dir, server_report(config, runtime, started))
        yield make_backend(config, runtime, work_dir, started)


def run_shard(config: GenerateConfig, runtime: GenerateRuntime, jobs: Sequence[Job], index: int, total: int,
              work_dir: str | Path, label: str = "generate") -> int:
    """Generate shard `index` of `total`, skipping tasks its file already holds; return tasks done now."""
    mine = shard_jobs(jobs, index, total)
    with ShardFile(shard_path(work_dir, index, total), config.n_samples) as shard:
        done = shard.recover()
        todo = [job for job in mine if job.task_id not in done]
        if not todo:
            return 0
        with (environment(numerics_environment(config, runtime)),
              open_backend(config, runtime, work_dir, index, total) as backend,
              tqdm(total=len(mine), initial=len(mine) - len(todo), desc=f"{label} shard {index}/{total}",
                   unit="task", position=index) as bar):
            for start in range(0, len(todo), runtime.batch_size):
                batch = todo[start:start + runtime.batch_size]
                shard.append(rows_of(batch, backend.generate(batch), config.tabs))
                bar.update(len(batch))
    return len(todo)


def numerics_environment(config: GenerateConfig, runtime: GenerateRuntime) -> dict[str, str]:
    """ATen's and MKL's AVX2 kernels for a shard on the CPU (evolcoder/cpu_numerics.py), so that
    the same model writes the same bytes on any CPU that has them; nothing on GPUs."""
    return {} if usable_gpus(config, runtime) else PORTABLE_KERNELS


def rows_of(jobs: Sequence[Job], completions: Sequence[Sequence[Completion]], tabs: bool) -> Iterator[dict]:
    """Output rows; with `tabs`, tabs in responses go back to four spaces (WizardCoder's rewrite)."""
    for job, samples in zip(jobs, completions):
        for sample, c in enumerate(samples):
            response = c.text.replace("\t", "    ") if tabs else c.text
            yield {"task_id": job.task_id, "sample": sample, "prompt": job.prompt, "response": response,
                   "finish_reason": c.finish_reason, "n_tokens": c.n_tokens,
                   "batch_shape": list(c.batch_shape) if c.batch_shape else None, "batch_size": c.batch_size}


def run_all_shards(config: GenerateConfig, runtime: GenerateRuntime, jobs: Sequence[Job], work_dir: str | Path,
                   label: str = "generate") -> None:
    """All `num_shards` shards: in this process when there is one, else one process each, in parallel."""
    total = runtime.num_shards
    gpus = shard_gpus(config, runtime, total)  # refuses a plan that needs more GPUs than are visible, before any work
    if total == 1:
        run_shard(config, runtime, jobs, 0, 1, work_dir, label)
        return
    ctx = mp.get_context("spawn")
    threads = max(1, (os.cpu_count() or 1) // total)
    procs = []
    for index in range(total):
        env = {"CUDA_VISIBLE_DEVICES": ",".join(gpus[index])} if gpus else {}
        with environment(env):
            proc = ctx.Process(target=_shard_process, args=(config, runtime, list(jobs), index, total, str(work_dir), label,
                                                            None if gpus else threads))
            proc.start()
        procs.append(proc)
    _wait_all(procs, work_dir)


def _shard_process(config: GenerateConfig, runtime: GenerateRuntime, jobs: list[Job], index: int, total: int,
                   work_dir: str, label: str, threads: int | None) -> None:
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    try:
        run_shard(config, runtime, jobs, index, total, work_dir, label)
    except EvolcoderError as e:  # the message says what to do; the parent reports the exit status
        print(f"generate: shard {index}/{total}: error: {e}", file=sys.stderr)
        sys.exit(1)


def _wait_all(procs: list, work_dir: str | Path) -> None:
    """Wait for every shard; on the first failure stop the others (their finished tasks stay on disk)."""
    running = list(procs)
    while running:
        for sentinel in wait([p.sentinel for p in running]):
            proc = next(p for p in running if p.sentinel == sentinel)
            proc.join()
            running.remove(proc)
            if proc.exitcode != 0:
                for other in running:
                    other.terminate()
                    other.join()
                index = procs.index(proc)
                raise EvolcoderError(
                    f"generation shard {index}/{len(procs)} failed (exit code {proc.exitcode}, its error is "
                    f"above); finished tasks are kept in {work_dir}, so rerunning resumes from them")


def shard_files(work_dir: str | Path, total: int) -> list[Path]:
    return [shard_path(work_dir, i, total) for i in range(total)]


def generate_benchmark(config: GenerateConfig, runtime: GenerateRuntime, benchmark: str, problems: Sequence[Problem],
                       out: str | Path, work_dir: str | Path) -> dict:
    """Generate every task x sample of `benchmark` into `out`; return a short summary."""
    jobs = make_jobs(benchmark, problems, config.tabs, config.prompt)
    prepare_work_dir(work_dir, config, runtime, jobs)
    run_all_shards(config, runtime, jobs, work_dir, label=benchmark)
    n_rows = merge_with_meta(config, benchmark, [j.task_id for j in jobs], work_dir, runtime.num_shards, out)
    return {"benchmark": benchmark, "n_tasks": len(jobs), "n_samples": config.n_samples, "rows": n_rows}


def merge_with_meta(config: GenerateConfig, benchmark: str, task_ids: Sequence[str], work_dir: str | Path,
                    total: int, out: str | Path) -> int:
    """Write `out` from the `total` shard files (only when every task x sample is there) and its meta
    file beside it; warn when its samples came from different batch sizes. Returns the rows written."""
    rows = merged_rows(shard_files(work_dir, total), task_ids, config.n_samples)
    meta = describe(config, benchmark, rows, read_json(Path(work_dir) / PLAN_FILE)["numerics"], work_dir)
    write_jsonl(out, rows)
    write_json(generation_meta(out), meta)
    warn_if_mixed(meta, out, work_dir)
    return len(rows)
