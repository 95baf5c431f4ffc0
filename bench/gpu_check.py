"""The GPU check: training and generation through the project's own code, one table.

On a CUDA machine (started by `bash bench/gpu_check.sh`), a StarCoder-shaped GPTBigCode of
about 350M parameters (multi-query attention, head size 128; built from a config, nothing
downloaded) is fine-tuned by the train stage's runner (DeepSpeed launcher, worker, ZeRO-3,
bf16) for a fixed number of steps three ways: packed, length-grouped, and LoRA on packed rows.
Each row gives steady tokens/s (the first quarter of the steps left out), model FLOPs
utilisation against the GPU's published dense bf16 peak and rank 0's peak memory. Then the
packed run's checkpoint generates HumanEval answers through the generation backends:
`transformers` (batched) and, where `vllm` is installed, a vLLM server through the `openai`
backend. The table is printed and written as JSON (--out).

`--cpu-dry-run` runs the same code on the CPU with a tiny model, fp32 and a few steps: what
the tests run, so that a GPU run can only find GPU-specific faults. `--server-command` starts
another OpenAI-compatible server in vLLM's place (`{port}` and `{model}` are filled in).

MFU = real tokens/s x model FLOPs per token / peak. FLOPs per token (PaLM's count): 6N + 12
L d T for full fine-tuning, 4N + 12 L d T for LoRA (no weight gradients of the frozen
weights), N the parameters of the matrix products (all but the position embeddings; the
token embedding counts as the tied LM head), L layers, d width, T the mean example length
(packed or padded, a token attends within its own example).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parent.parent

from evolcoder.benchmarks import load_benchmark
from evolcoder.seed.seed import read_file_rows
from evolcoder.generate.backend import Backend, Job
from evolcoder.generate.config import GenerateConfig
from evolcoder.generate.runner import make_backend, make_jobs
from evolcoder.jsonl import write_jsonl
from evolcoder.llm.config import LLMConfig
from evolcoder.train.config import ModelConfig, ScratchModelConfig, TrainConfig
from evolcoder.train.launch import free_port
from evolcoder.train.runner import RunPaths, run_training
from bench.generate_speed import timed
from tests.support.data import SHARED_DATA

SHARED_SAMPLE = SHARED_DATA / "code_alpaca_2k.json"
# Dense bf16 tensor TFLOP/s from NVIDIA's datasheets (sparsity not counted); first match wins.
PEAK_BF16_TFLOPS = (("GH200", 989.0), ("H200 NVL", 835.0), ("H200", 989.0), ("H100 NVL", 835.0),
                    ("H100 PCIe", 756.0), ("H100", 989.0), ("B200", 2250.0), ("A100", 312.0),
                    ("L40S", 362.0), ("L40", 181.0), ("L4", 121.0), ("RTX 4090", 165.0), ("A10", 125.0))


@dataclass(frozen=True)
class Scale:
    """How big the check is: the GPU run's sizes, or the CPU dry run's."""

    model: ScratchModelConfig
    precision: str
    steps: int
    batch: int
    max_length: int
    tasks: int
    gen_batch: int
    new_tokens: int


GPU = Scale(ScratchModelConfig(n_layer=30, n_embd=1024, n_head=8, n_positions=2048, vocab_size=49152),
            precision="bf16", steps=60, batch=32, max_length=1024, tasks=64, gen_batch=32, new_tokens=256)
CPU_DRY_RUN = Scale(ScratchModelConfig(n_layer=2, n_embd=64, n_head=4, n_positions=1024, vocab_size=400,
                                       tokenizer_min_frequency=1),
                    precision="fp32", steps=3, batch=4, max_length=256, tasks=4, gen_batch=2, new_tokens=8)
TRAININGS = {  # row name: train params on top of the common ones
    "train packed": {"packing": True},
    "train length-grouped": {"group_by_length": True},
    "train LoRA, packed": {"packing": True, "adapter": "lora"},
}


def peak_bf16_tflops(device_name: str) -> float | None:
    return next((peak for key, peak in PEAK_BF16_TFLOPS if key in device_name), None)


def device_facts(dry_run: bool) -> dict[str, Any]:
    name = "cpu" if dry_run else torch.cuda.get_device_name()
    return {"device": name, "peak_bf16_tflops": None if dry_run else peak_bf16_tflops(name),
            "torch": torch.__version__, "cuda": torch.version.cuda}


def training_rows(data: Path, work: Path, scale: Scale, peak_tflops: float | None) -> tuple[list[dict], Path]:
    """One row per way of training; and the packed run's checkpoint, for generation."""
    model = ModelConfig(init="scratch", config=scale.model)
    common = {"precision": scale.precision, "max_steps": scale.steps, "global_batch_size": scale.batch,
              "per_device_batch_size": scale.batch, "max_length": scale.max_length, "lr": 1e-4,
              "warmup_steps": min(10, scale.steps), "save_steps": 10**6, "group_by_length": False,
              "work_dir": str(work / "runs")}
    rows = []
    for name, settings in TRAININGS.items():
        cfg = TrainConfig(**{**common, **settings})
        out = work / name.replace(" ", "_").replace(",", "")
        rows.append(checked(name, lambda: training_row(model, cfg, data, out, peak_tflops)))
    return rows, work / "train_packed" / "model"


def training_row(model: ModelConfig, cfg: TrainConfig, data: Path, out: Path, peak_tflops: float | None) -> dict:
    summary = run_training(model, cfg, RunPaths(data=data, output_dir=out / "model", curves_dir=out / "curves"))
    tokens_per_s = summary["steady_tokens_per_s"] or summary["tokens_per_s"]
    flops = flops_per_token(summary, model.config, cfg)
    return {"tokens_per_s": tokens_per_s, "flops_per_token": flops,
            "mfu": tokens_per_s * flops / (peak_tflops * 1e12) if peak_tflops else None,
            "peak_memory_mb": summary["peak_gpu_memory_mb"], "steps": summary["steps"],
            "final_loss": summary["final_loss"], "padding_efficiency": summary["padding_efficiency"],
            "trainable_params": summary["trainable_params"], "n_params": summary["n_params"],
            "attention": summary["attn_implementation"]}


def flops_per_token(summary: dict[str, Any], model: ScratchModelConfig, cfg: TrainConfig) -> float:
    """Model FLOPs of one trained token (the module docstring gives the formula)."""
    frozen_or_full = summary["n_params"] - summary["trainable_params"] if cfg.adapter == "lora" else summary["n_params"]
    matmul_params = frozen_or_full - model.n_positions * model.n_embd
    mean_length = summary["tokens_seen"] / (summary["steps"] * cfg.global_batch_size)
    passes = 4 if cfg.adapter == "lora" else 6
    return passes * matmul_params + 12 * model.n_layer * model.n_embd * mean_length


def generation_rows(checkpoint: Path, work: Path, scale: Scale, server_command: str | None) -> list[dict]:
    jobs = make_jobs("humaneval", load_benchmark("humaneval")[:scale.tasks + scale.gen_batch], tabs=False)
    config = GenerateConfig(model=str(checkpoint), max_new_tokens=scale.new_tokens, stop=[],
                            batch_size=scale.gen_batch, device="auto")
    rows = [checked("generate transformers", lambda: {"tokens_per_s": generation_speed(
        make_backend(config, work / "gen"), jobs, scale.gen_batch)})]
    if server_command is None and not vllm_installed():
        return rows + [{"check": "generate vLLM server", "note": "skipped: vllm is not installed"}]
    return rows + [checked("generate server (openai backend)",
                           lambda: server_generation(config, jobs, scale, server_command, work))]


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


def server_generation(config: GenerateConfig, jobs: list[Job], scale: Scale, server_command: str | None,
                      work: Path) -> dict:
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
            served = LLMConfig(provider="openai", model=config.model, base_url=base_url, api_key_env=None,
                               concurrency=scale.gen_batch, max_retries=0, timeout_s=600.0)
            backend = make_backend(dataclasses.replace(config, backend="openai", server=served), work / "server_gen")
            return {"tokens_per_s": generation_speed(backend, jobs, scale.gen_batch),
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


def checked(name: str, measure) -> dict:
    """A row of the table: what `measure` returned, or the error it raised (and the check goes on)."""
    started = time.perf_counter()
    try:
        row = {"check": name, **measure()}
    except Exception as e:  # one failed check must not hide the others; the row and exit status say it
        row = {"check": name, "error": f"{type(e).__name__}: {e}"}
    row["wall_s"] = time.perf_counter() - started
    print(f"gpu_check: {name}: done in {row['wall_s']:.0f} s", flush=True)
    return row


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


COLUMNS = (("check", "{}", 34), ("tokens/s", "{:,.0f}", 10), ("MFU", "{:.1%}", 7), ("peak MB", "{:,.0f}", 9),
           ("steps", "{}", 5), ("loss", "{:.3f}", 6), ("trainable/total", "{}", 18), ("attention", "{}", 12))


def table(rows: list[dict]) -> str:
    lines = ["  ".join(f"{title:<{width}}" for title, _, width in COLUMNS)]
    for row in rows:
        values = {**row, "tokens/s": row.get("tokens_per_s"), "MFU": row.get("mfu"),
                  "peak MB": row.get("peak_memory_mb"), "loss": row.get("final_loss"),
                  "trainable/total": (f"{row['trainable_params'] / 1e6:.1f}M/{row['n_params'] / 1e6:.0f}M"
                                      if "n_params" in row else None)}
        cells = [(fmt.format(values[title]) if values.get(title) is not None else "-").ljust(width)
                 for title, fmt, width in COLUMNS]
        note = row.get("error") or row.get("note")
        lines.append("  ".join(cells) + (f"  {note}" if note else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("gpu_check.json"), help="the table as JSON")
    parser.add_argument("--data", type=Path, default=None, help="JSON/JSONL of {instruction, input, output}")
    parser.add_argument("--steps", type=int, default=None, help="training steps per run")
    parser.add_argument("--cpu-dry-run", action="store_true", help="the same checks on the CPU, tiny model")
    parser.add_argument("--server-command", default=None, help="an OpenAI-compatible server in vLLM's place")
    args = parser.parse_args(argv)
    scale = CPU_DRY_RUN if args.cpu_dry_run else GPU
    if args.steps:
        scale = dataclasses.replace(scale, steps=args.steps)
    facts = device_facts(args.cpu_dry_run)
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp:
        work = Path(tmp)
        data, data_name = training_data(args.data, work)
        print(f"gpu_check: {facts['device']} (dense bf16 peak {facts['peak_bf16_tflops']} TFLOP/s), "
              f"torch {facts['torch']}, data {data_name}", flush=True)
        rows, checkpoint = training_rows(data, work, scale, facts["peak_bf16_tflops"])
        rows += generation_rows(checkpoint, work, scale, args.server_command)
    report = {**facts, "data": data_name, "scale": dataclasses.asdict(scale), "rows": rows}
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(table(rows))
    print(f"gpu_check: table written to {args.out}")
    return 1 if any("error" in row for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
