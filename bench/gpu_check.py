"""The GPU check: training and generation through the project's own code, one table.

On a CUDA machine (started by `bash bench/gpu_check.sh`) it first prints the plan for the GPUs
nvidia-smi lists (bench/gpu_plan.py), then checks that torch can use them (a CPU build of torch
gets the command that installs the CUDA one), then runs each row. A StarCoder-shaped GPTBigCode
of about 375M parameters (multi-query attention, head size 128; built from a config, nothing
downloaded) is fine-tuned by the train stage's runner (DeepSpeed launcher, worker, ZeRO-3):

- `--mode paper`: the paper profile's settings on every visible GPU (one rank on each GPU
  nvidia-smi lists): its fp16 with `zero3_offload.json`, and bf16 with `zero3.json`, both with
  activation checkpointing, max_length 2048, its accumulation; then the bf16 checkpoint
  generates HumanEval answers with one shard per GPU, and a batch of copies of one prompt is
  driven out of memory under a memory cap, so that generation's halving runs for real.
- `--mode quick`: one rank, packed, length-grouped and LoRA on packed rows at 1024 tokens; then
  batched generation with the `transformers` backend and, where `vllm` is installed, through a
  vLLM server (the `openai` backend).
- `--mode all` (the default): both.

Each training row's per-device batch is the largest that bench/train_memory.py's arithmetic
fits on the smallest card; the row shows that estimate beside rank 0's measured peak
(torch.cuda.max_memory_allocated), steady tokens/s (the first quarter of the steps left out,
all ranks together) and model FLOPs utilisation against the GPUs' published dense bf16 peak.
A row that fails shows its error in one line (a rank's own error, taken from its output) and
the check goes on. The table is printed and written as JSON (--out).

`--cpu-dry-run` runs the same code on the CPU with a tiny model, fp32 and a few steps: what
the tests run, so that a GPU run can only find GPU-specific faults. `--server-command` starts
another OpenAI-compatible server in vLLM's place (`{port}` and `{model}` are filled in).

MFU = real tokens/s x model FLOPs per token / (peak x GPUs). FLOPs per trained token (PaLM's
count, recomputation not counted): 6N + 12 L d T for full fine-tuning, 4N + 12 L d T for LoRA
(no weight gradients of the frozen weights), N the parameters of the matrix products (all but
the position embeddings; the token embedding counts as the tied LM head), L layers, d width, T
the mean example length (packed or padded, a token attends within its own example); 2N per
generated token.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parent.parent

from evolcoder.benchmarks import Problem, load_benchmark
from evolcoder.seed.seed import read_file_rows
from evolcoder.generate.backend import Backend, Job
from evolcoder.generate.config import GenerateConfig, GenerateRuntime, ServerRuntime
from evolcoder.generate.runner import generate_benchmark, make_backend, make_jobs
from evolcoder.jsonl import read_jsonl, write_jsonl
from evolcoder.llm.config import LLMConfig
from evolcoder.train.config import ModelConfig, ScratchModelConfig, TrainConfig
from evolcoder.train.launch import free_port
from evolcoder.train.runner import RunPaths, run_training
from bench.generate_speed import timed
from bench.gpu_plan import (CPU_DRY_RUN, GPU, MODES, Card, GenerateRow, Row, Scale, TrainRow, driver_cuda_version,
                            format_plan, nvidia_smi_cards, plan)
from bench.gpu_wheels import pin
from tests.support.data import SHARED_DATA

SHARED_SAMPLE = SHARED_DATA / "code_alpaca_2k.json"
# Dense bf16 tensor TFLOP/s from NVIDIA's datasheets (sparsity not counted); first match wins.
PEAK_BF16_TFLOPS = (("GH200", 989.0), ("H200 NVL", 835.0), ("H200", 989.0), ("H100 NVL", 835.0),
                    ("H100 PCIe", 756.0), ("H100", 989.0), ("B200", 2250.0), ("A100", 312.0),
                    ("L40S", 362.0), ("L40", 181.0), ("L4", 121.0), ("RTX 4090", 165.0), ("A10", 125.0))
PYPI_TORCH_CUDA = "13.0"  # PyPI's torch 2.13.0 Linux x86-64 wheel requires cuda-toolkit 13.0.3
OOM_ROWS_FIT = 2.5  # the forced out-of-memory row's cap: the model and this many rows' peak
ERROR_LINE = re.compile(r"(\b[\w.]*(Error|Exception)\b: .*|\berror: .*)$")


def peak_bf16_tflops(device_name: str) -> float | None:
    return next((peak for key, peak in PEAK_BF16_TFLOPS if key in device_name), None)


def device_facts(dry_run: bool) -> dict[str, Any]:
    name = "cpu" if dry_run else torch.cuda.get_device_name()
    return {"device": name, "gpus": 0 if dry_run else torch.cuda.device_count(),
            "peak_bf16_tflops": None if dry_run else peak_bf16_tflops(name),
            "torch": torch.__version__, "cuda": torch.version.cuda}


def cuda_problem(cards: list[Card]) -> str | None:
    """Why this Python's torch cannot use the GPUs nvidia-smi lists, and what to install; None if it can."""
    driver = driver_cuda_version()
    torch_pin = pin("torch")
    if torch.version.cuda is None:
        newer = driver is not None and float(driver) >= float(PYPI_TORCH_CUDA)
        return (f"gpu_check: this Python's torch ({torch.__version__}, in {Path(torch.__file__).parent}) is a CPU "
                f"build: it cannot use the {len(cards)} GPU(s) above. Install the CUDA build of {torch_pin}: "
                f"`{sys.executable} -m pip install --force-reinstall {torch_pin}` takes PyPI's Linux x86-64 wheel, "
                f"built for CUDA {PYPI_TORCH_CUDA}, which this driver "
                + (f"runs (it supports CUDA {driver})." if newer else
                   f"does not run (it supports CUDA {driver or 'of an unknown version'}): take the build for CUDA "
                   f"{driver or 'your driver'} or older from PyTorch's index instead (https://download.pytorch.org/whl/"
                   f"torch/ lists them: the cuXYZ in a file's name), or update the driver.")
                + " Without network: `python -m bench.gpu_wheels build` on a connected machine puts it and every "
                  "dependency in .whl/; carry .whl/ here and rerun `bash bench/gpu_check.sh`.")
    if not torch.cuda.is_available():
        return (f"gpu_check: torch {torch.__version__} is built for CUDA {torch.version.cuda} but sees no GPU, while "
                f"nvidia-smi lists {len(cards)}; the driver supports CUDA {driver or 'of an unknown version'}. A driver "
                "older than torch's CUDA cannot run it: update the driver, or install torch built for the driver's "
                "CUDA from https://download.pytorch.org/whl/torch/. In a container, check that it was started with "
                "the GPUs (docker run --gpus all).")
    return None


def run_rows(rows: list[Row], scale: Scale, data: Path, work: Path, facts: dict[str, Any],
             server_command: str | None) -> list[dict]:
    """Each row in turn; a generation row uses the model of the last training row that succeeded."""
    results: list[dict] = []
    trained: tuple[Path, int] | None = None  # checkpoint and its parameter count
    for row in rows:
        if row.skip:
            results.append({"check": row.check, "note": f"skipped: {row.skip}"})
            continue
        out = work / re.sub(r"\W+", "_", row.check)
        if isinstance(row, TrainRow):
            result = checked(row.check, lambda: training_row(scale.model, row, data, out, facts),
                             log=out.with_suffix(".log"))
            if "error" not in result:
                trained = (out / "model", result["n_params"])
        elif trained is None:
            result = {"check": row.check, "error": "no checkpoint to generate with: every training row before it failed"}
        else:
            checkpoint, n_params = trained
            config = dataclasses.replace(row.config, model=str(checkpoint))
            result = checked(row.check, lambda: generation_row(row, config, scale, out, server_command))
            if result.get("tokens_per_s") and facts["peak_bf16_tflops"]:
                gpus = row.runtime.num_shards if row.way == "shards" else 1
                result["mfu"] = result["tokens_per_s"] * 2 * n_params / (facts["peak_bf16_tflops"] * 1e12 * gpus)
        results.append(result)
    return results


def training_row(model: ScratchModelConfig, row: TrainRow, data: Path, out: Path, facts: dict[str, Any]) -> dict:
    cfg = row.config
    runtime = dataclasses.replace(row.runtime, work_dir=str(out.parent / "runs"))
    model_cfg = ModelConfig(init="scratch", config=model)
    summary = run_training(model_cfg, cfg, runtime, RunPaths(data=data, output_dir=out / "model", curves_dir=out / "curves"))
    tokens_per_s = summary["steady_tokens_per_s"] or summary["tokens_per_s"]
    flops = flops_per_token(summary, model, cfg)
    peak = facts["peak_bf16_tflops"]
    return {"tokens_per_s": tokens_per_s, "flops_per_token": flops,
            "mfu": tokens_per_s * flops / (peak * 1e12 * cfg.world_size) if peak else None,
            "peak_memory_mb": summary["peak_gpu_memory_mb"],
            "estimate_mb": row.estimate_bytes / 2**20 if row.estimate_bytes is not None else None,
            "ranks": cfg.world_size, "batch": f"{cfg.per_device_batch_size}x{cfg.max_length}",
            "steps": summary["steps"], "final_loss": summary["final_loss"],
            "padding_efficiency": summary["padding_efficiency"], "trainable_params": summary["trainable_params"],
            "n_params": summary["n_params"], "attention": summary["attn_implementation"]}


def flops_per_token(summary: dict[str, Any], model: ScratchModelConfig, cfg: TrainConfig) -> float:
    """Model FLOPs of one trained token (the module docstring gives the formula)."""
    frozen_or_full = summary["n_params"] - summary["trainable_params"] if cfg.adapter == "lora" else summary["n_params"]
    matmul_params = frozen_or_full - model.n_positions * model.n_embd
    mean_length = summary["tokens_seen"] / (summary["steps"] * cfg.global_batch_size)
    passes = 4 if cfg.adapter == "lora" else 6
    return passes * matmul_params + 12 * model.n_layer * model.n_embd * mean_length


def generation_row(row: GenerateRow, config: GenerateConfig, scale: Scale, out: Path,
                   server_command: str | None) -> dict:
    problems, runtime = load_benchmark("humaneval"), row.runtime
    if row.way == "shards":
        return shard_generation(config, runtime, problems[:scale.shard_tasks], out)
    jobs = make_jobs("humaneval", problems[:scale.tasks + runtime.batch_size], config.tabs)
    if row.way == "oom":
        return forced_oom(config, runtime, jobs)
    if row.way == "server":
        if server_command is None and not vllm_installed():
            return {"note": "skipped: vllm is not installed"}
        return server_generation(config, runtime, jobs, server_command, out)
    return {"tokens_per_s": generation_speed(make_backend(config, runtime, out), jobs, runtime.batch_size)}


def shard_generation(config: GenerateConfig, runtime: GenerateRuntime, problems: list[Problem], out: Path) -> dict:
    """HumanEval through the generation stage's own sharding: one process per GPU (wall clock, loads included)."""
    started = time.perf_counter()
    generate_benchmark(config, runtime, "humaneval", problems, out / "humaneval.jsonl", out / "work")
    elapsed = time.perf_counter() - started
    tokens = sum(row["n_tokens"] for row in read_jsonl(out / "humaneval.jsonl"))
    return {"tokens_per_s": tokens / elapsed, "note": f"{runtime.num_shards} shards, {len(problems)} tasks, "
                                                      "model loads included"}


def forced_oom(config: GenerateConfig, runtime: GenerateRuntime, jobs: list[Job]) -> dict:
    """Copies of the longest prompt in one batch under a memory cap that fits about OOM_ROWS_FIT of them:
    the backend must halve the batch after CUDA's out-of-memory error and still give every text."""
    from evolcoder.generate.hf_backend import TransformersBackend

    backend = TransformersBackend(config, runtime)
    prompt = max(jobs, key=lambda job: len(job.prompt))
    copies = [Job(f"{prompt.task_id}#{i}", prompt.prompt) for i in range(runtime.batch_size)]
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    alone = backend.generate(copies[:1])[0][0].text
    per_row = torch.cuda.max_memory_allocated() - before
    torch.cuda.empty_cache()
    cap = memory_cap(torch.cuda.memory_reserved(), per_row, torch.cuda.get_device_properties(0).total_memory)
    torch.cuda.set_per_process_memory_fraction(cap)
    torch.cuda.reset_peak_memory_stats()
    try:
        started = time.perf_counter()
        samples = backend.generate(copies)
        elapsed = time.perf_counter() - started
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
    if backend.fitting == runtime.batch_size:
        raise RuntimeError(f"no out-of-memory error with {runtime.batch_size} rows under a cap of {cap:.1%} of the "
                           "GPU: the halving did not run")
    same = sum(s[0].text == alone for s in samples)
    return {"tokens_per_s": sum(s[0].n_tokens for s in samples) / elapsed,
            "peak_memory_mb": torch.cuda.max_memory_allocated() / 2**20,
            "note": f"batch {runtime.batch_size} -> {backend.fitting} under a cap of {cap:.1%} of the GPU; "
                    f"{same}/{len(samples)} texts equal the prompt's text alone"}


def memory_cap(reserved: int, per_row: int, total: int) -> float:
    """The fraction of the GPU that holds what is reserved now plus OOM_ROWS_FIT rows' generation."""
    return min(1.0, (reserved + OOM_ROWS_FIT * per_row) / total)


def generation_speed(backend: Backend, jobs: list[Job], batch: int) -> float:
    """Generated tokens per second over the jobs after the first batch (a warm-up)."""
    backend.generate(jobs[:batch])
    return timed(backend, jobs[batch:], batch)


def vllm_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


def vllm_command(checkpoint: Path, port: int, template: Path) -> list[str]:
    """vLLM's OpenAI-compatible server on the checkpoint, passing each prompt through unchanged."""
    return [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(checkpoint),
            "--served-model-name", str(checkpoint), "--port", str(port), "--dtype", "bfloat16",
            "--chat-template", str(template), "--max-model-len", "2048", "--gpu-memory-utilization", "0.5"]


def server_generation(config: GenerateConfig, runtime: GenerateRuntime, jobs: list[Job], server_command: str | None,
                      work: Path) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    template = work / "passthrough.jinja"
    template.write_text("{{ messages[0]['content'] }}")
    cmd = (shlex.split(server_command.format(port=port, model=config.model)) if server_command
           else vllm_command(Path(config.model), port, template))
    base_url = f"http://127.0.0.1:{port}/v1"
    with open(work / "server.log", "w") as log:
        server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        try:
            wait_ready(server, base_url, work / "server.log")
            served = LLMConfig(provider="openai", model=config.model, base_url=base_url, api_key_env=None)
            client = ServerRuntime(concurrency=runtime.batch_size, max_retries=0, timeout_s=600.0)
            backend = make_backend(dataclasses.replace(config, backend="openai", server=served),
                                   dataclasses.replace(runtime, server=client), work / "gen")
            return {"tokens_per_s": generation_speed(backend, jobs, runtime.batch_size),
                    "note": f"server: {server_command}" if server_command else "vllm serve"}
        finally:
            server.terminate()
            server.wait(timeout=60)


def wait_ready(server: subprocess.Popen, base_url: str, log: Path, timeout_s: float = 900.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with status {server.returncode}; its log: {log}")
        try:
            urllib.request.urlopen(f"{base_url}/models", timeout=5).close()
            return
        except OSError:
            time.sleep(1.0)
    raise RuntimeError(f"the server did not answer {base_url}/models within {timeout_s:.0f} s; its log: {log}")


def checked(name: str, measure: Callable[[], dict], log: Path | None = None) -> dict:
    """A row of the table: what `measure` returned, or its error in one line (and the check goes on).
    With `log`, what the row's processes print is kept there too, and a failure names the last
    error they printed (a rank's own, where the launcher only reports an exit status)."""
    started = time.perf_counter()
    try:
        with captured_output(log) if log else _nothing():
            row = {"check": name, **measure()}
    except Exception as e:  # one failed check must not hide the others; the row and exit status say it
        cause = last_error_line(log.read_text(errors="replace")) if log and log.is_file() else None
        message = " ".join(f"{type(e).__name__}: {e}".split())
        row = {"check": name, "error": message + (f" | {cause}" if cause and cause not in message else "")}
    row["wall_s"] = time.perf_counter() - started
    print(f"gpu_check: {name}: done in {row['wall_s']:.0f} s", flush=True)
    return row


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@contextmanager
def captured_output(path: Path) -> Iterator[None]:
    """Copy what this process and its children write to stdout and stderr into `path` (through
    `tee`), while still showing it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    tee = subprocess.Popen(["tee", str(path)], stdin=subprocess.PIPE)
    saved = os.dup(1), os.dup(2)
    os.dup2(tee.stdin.fileno(), 1)
    os.dup2(tee.stdin.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, original in zip((1, 2), saved):
            os.dup2(original, fd)
            os.close(original)
        tee.stdin.close()
        tee.wait()


def last_error_line(text: str) -> str | None:
    """The last line of `text` that reports an error ('torch.OutOfMemoryError: ...', 'train worker: error: ...')."""
    for line in reversed(text.splitlines()):
        found = ERROR_LINE.search(line.strip())
        if found:
            return found.group(1)
    return None


def training_data(path: Path | None, work: Path) -> tuple[Path, str]:
    """The Code Alpaca sample as training JSONL, or synthetic code instructions where it is absent."""
    source = path or (SHARED_SAMPLE if SHARED_SAMPLE.is_file() else None)
    rows = [row.value for row in read_file_rows(source)] if source else synthetic_rows()
    write_jsonl(work / "train.jsonl", ({"id": str(i), **row} for i, row in enumerate(rows)))
    return work / "train.jsonl", source.name if source else f"{len(rows)} synthetic rows"


def synthetic_rows(n: int = 4000) -> list[dict]:
    """Code instructions of varied length."""
    rows = []
    for i in range(n):
        a, b, k = i % 13 + 1, i % 7, i % 9
        body = "".join(f"    y = y * {a} + {j}  # step {j}\n" for j in range(k))
        rows.append({"instruction": f"Write f{i}(x): start from x, apply {k} affine steps, add {b}.",
                     "input": "", "output": f"def f{i}(x):\n    y = x\n{body}    return y + {b}\n"})
    return rows


COLUMNS = (("check", "{}", 40), ("ranks", "{}", 5), ("batch", "{}", 9), ("tokens/s", "{:,.0f}", 10),
           ("MFU", "{:.1%}", 6), ("peak MB", "{:,.0f}", 8), ("est. MB", "{:,.0f}", 8), ("steps", "{}", 5),
           ("loss", "{:.3f}", 6), ("trainable/total", "{}", 15), ("attention", "{}", 11))


def table(rows: list[dict]) -> str:
    lines = ["  ".join(f"{title:<{width}}" for title, _, width in COLUMNS)]
    for row in rows:
        values = {**row, "tokens/s": row.get("tokens_per_s"), "MFU": row.get("mfu"),
                  "peak MB": row.get("peak_memory_mb"), "est. MB": row.get("estimate_mb"), "loss": row.get("final_loss"),
                  "trainable/total": (f"{row['trainable_params'] / 1e6:.1f}M/{row['n_params'] / 1e6:.0f}M"
                                      if "n_params" in row else None)}
        cells = [(fmt.format(values[title]) if values.get(title) is not None else "-").ljust(width)
                 for title, fmt, width in COLUMNS]
        note = row.get("error") or row.get("note")
        lines.append("  ".join(cells) + (f"  {note}" if note else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=MODES, default="all", help="paper, quick or both (see above)")
    parser.add_argument("--out", type=Path, default=Path("gpu_check.json"), help="the table as JSON")
    parser.add_argument("--data", type=Path, default=None, help="JSON/JSONL of {instruction, input, output}")
    parser.add_argument("--steps", type=int, default=None, help="training steps per run")
    parser.add_argument("--cpu-dry-run", action="store_true", help="the same checks on the CPU, tiny model")
    parser.add_argument("--server-command", default=None, help="an OpenAI-compatible server in vLLM's place")
    args = parser.parse_args(argv)
    scale: Scale = CPU_DRY_RUN if args.cpu_dry_run else GPU
    if args.steps:
        scale = dataclasses.replace(scale, steps=args.steps, paper_steps=args.steps)
    if not args.cpu_dry_run and shutil.which("nvidia-smi") is None:
        print("gpu_check: no nvidia-smi here; run it on a CUDA machine, or with --cpu-dry-run")
        return 2
    cards = [] if args.cpu_dry_run else nvidia_smi_cards()
    print(format_plan(cards, args.mode, scale), flush=True)
    problem = None if args.cpu_dry_run else cuda_problem(cards)
    if problem:
        print(problem)
        return 2
    if cards:  # the ranks' launcher then puts them on these GPUs, as on a shared node
        os.environ.setdefault("CUDA_VISIBLE_DEVICES", ",".join(card.index for card in cards))
    facts = device_facts(args.cpu_dry_run)
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp:
        work = Path(tmp)
        data, data_name = training_data(args.data, work)
        print(f"gpu_check: {facts['device']} x {facts['gpus']} (dense bf16 peak {facts['peak_bf16_tflops']} TFLOP/s), "
              f"torch {facts['torch']}, data {data_name}", flush=True)
        rows = run_rows(plan(cards, args.mode, scale), scale, data, work, facts, args.server_command)
    report = {**facts, "data": data_name, "mode": args.mode, "scale": dataclasses.asdict(scale), "rows": rows}
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(table(rows))
    print(f"gpu_check: table written to {args.out}")
    return 1 if any("error" in row for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
