"""bench/gpu_check.sh: one line without a GPU; with GPUs but a CPU build of torch, the plan and then
what to install; a failed row in one line with its rank's own error; on the CPU (--cpu-dry-run)
every check it runs on a GPU."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest


from bench import gpu_check
from bench.gpu_check import last_error_line, memory_cap, peak_bf16_tflops
from bench.gpu_plan import CPU_DRY_RUN, GenerateRow, TrainRow, plan
from tests.support.data import REPO_ROOT

NVIDIA_SMI = """#!/bin/sh
case "$1" in
  -L) echo 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0)'; echo 'GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-1)';;
  --query-gpu=*) printf '0, NVIDIA H100 80GB HBM3, 81559, 9.0\\n1, NVIDIA H100 80GB HBM3, 81559, 9.0\\n';;
  *) echo '| NVIDIA-SMI 570.86.15   Driver Version: 570.86.15   CUDA Version: CUDA_VERSION |';;
esac
"""


def test_without_a_gpu_it_says_so_in_one_line_and_exits_at_once():
    if shutil.which("nvidia-smi"):
        pytest.skip("this machine has nvidia-smi: the check would run")
    result = subprocess.run(["bash", "bench/gpu_check.sh"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.splitlines() == [
        "gpu_check: no NVIDIA GPU here (nvidia-smi lists none); nothing to check. Run it on a CUDA machine."]


def test_with_a_cpu_torch_it_prints_the_plan_then_the_cuda_torch_to_install(tmp_path):
    import torch

    if torch.version.cuda is not None:
        pytest.skip("this torch is a CUDA build")
    fake = tmp_path / "nvidia-smi"
    fake.write_text(NVIDIA_SMI.replace("CUDA_VERSION", "12.8"))
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env["PATH"] = f"{tmp_path}{os.pathsep}{env['PATH']}"
    result = subprocess.run(["bash", "bench/gpu_check.sh", "--mode", "paper"], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "gpu_check plan: 2 x NVIDIA H100 80GB HBM3 (81,559 MiB = 85.5 GB, compute capability 9.0)"
    assert lines[4].startswith("  train fp16, zero3_offload, checkpointing")
    assert "2 rank(s), 16 x 2048 tokens" in lines[4]
    message = lines[-1]
    assert message.startswith(f"gpu_check: this Python's torch ({torch.__version__}, in ") and "is a CPU build" in message
    assert (" -m pip install --force-reinstall torch==2.13.0` takes PyPI's Linux x86-64 wheel, built for CUDA 13.0, "
            "which this driver does not run (it supports CUDA 12.8): take the build for CUDA 12.8 or older from "
            "PyTorch's index") in message
    assert "python -m bench.gpu_wheels build" in message


def test_a_driver_new_enough_for_pypis_cuda_torch_is_told_so(monkeypatch):
    import torch

    monkeypatch.setattr(gpu_check, "driver_cuda_version", lambda: "13.1")
    monkeypatch.setattr(torch.version, "cuda", None)  # a CPU build
    assert "built for CUDA 13.0, which this driver runs (it supports CUDA 13.1)." in gpu_check.cuda_problem([])
    monkeypatch.setattr(torch.version, "cuda", "13.0")  # a CUDA build that sees no GPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "built for CUDA 13.0 but sees no GPU" in gpu_check.cuda_problem([])


@pytest.mark.parametrize("name, peak", [
    ("NVIDIA H200", 989.0), ("NVIDIA H100 80GB HBM3", 989.0), ("NVIDIA H100 PCIe", 756.0),
    ("NVIDIA GH200 480GB", 989.0), ("NVIDIA A100-SXM4-80GB", 312.0), ("NVIDIA L40S", 362.0), ("NVIDIA L4", 121.0),
    ("NVIDIA A10", 125.0), ("Tesla T4", None),
])
def test_mfu_is_measured_against_the_gpus_published_dense_bf16_peak(name, peak):
    assert peak_bf16_tflops(name) == peak


def test_the_error_line_of_a_failed_rank_is_found_in_its_output():
    output = ("[rank0]: Traceback (most recent call last):\n[rank0]:   File \"worker.py\", line 3\n"
              "[rank0]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 6.00 GiB\n"
              "[2026-01-01 00:00:00] [INFO] [launch.py:319:sigkill_handler] Killing subprocess 123\n")
    assert last_error_line(output) == "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 6.00 GiB"
    assert last_error_line("train worker: error: model.name_or_path: cannot load 'x'\n") == \
        "error: model.name_or_path: cannot load 'x'"
    assert last_error_line("all went well\n") is None


def test_a_failed_training_row_gives_its_ranks_error_in_one_line_and_the_next_rows_go_on(tmp_path, monkeypatch):
    from evolcoder.train.launch import TrainingFailed

    def failing_training(model, cfg, runtime, paths):  # a rank's traceback, printed by a child process, then the launcher's exit
        subprocess.run([sys.executable, "-c", "import sys; print('Traceback (most recent call last):'); "
                        "print('torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 6.00 GiB', file=sys.stderr)"])
        raise TrainingFailed("the DeepSpeed launcher exited with status 1 (spec s.json); the ranks' errors are\n"
                             "printed above. Rerunning resumes from the last saved checkpoint.")

    monkeypatch.setattr(gpu_check, "run_training", failing_training)
    rows = [row for row in plan([], "paper", CPU_DRY_RUN) if row.check != "generate, forced out-of-memory"]
    results = gpu_check.run_rows(rows, CPU_DRY_RUN, tmp_path / "train.jsonl", tmp_path, {"peak_bf16_tflops": None}, None)
    assert [r["check"] for r in results] == [row.check for row in rows]
    assert results[0]["error"] == ("TrainingFailed: the DeepSpeed launcher exited with status 1 (spec s.json); the "
                                   "ranks' errors are printed above. Rerunning resumes from the last saved checkpoint."
                                   " | torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 6.00 GiB")
    assert results[-1]["error"] == "no checkpoint to generate with: every training row before it failed"
    assert isinstance(rows[0], TrainRow) and isinstance(rows[-1], GenerateRow)


def test_the_forced_out_of_memory_cap_holds_the_model_and_a_few_rows():
    gib = 2**30
    assert memory_cap(reserved=10 * gib, per_row=2 * gib, total=80 * gib) == pytest.approx(15 / 80)
    assert memory_cap(reserved=70 * gib, per_row=8 * gib, total=80 * gib) == 1.0


@pytest.mark.slow
def test_cpu_dry_run_of_every_row_trains_generates_and_serves_through_the_projects_code(tmp_path):
    """--mode all: the paper's rows (two ranks both ways, two generation shards), then the quick ones."""
    out = tmp_path / "gpu_check.json"
    server = f"{sys.executable} tests/support/llm_server.py --port {{port}} --model {{model}}"  # the loopback server in vLLM's place
    result = subprocess.run(["bash", "bench/gpu_check.sh", "--cpu-dry-run", "--mode", "all", "--out", str(out),
                             "--server-command", server], cwd=REPO_ROOT, capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.startswith("gpu_check plan: no GPU: the CPU dry run")
    report = json.loads(out.read_text())
    rows = {row["check"]: row for row in report["rows"]}
    paper = ["train fp32, zero3_offload, checkpointing", "train fp32, zero3, checkpointing",
             "generate, one shard per GPU", "generate, forced out-of-memory"]
    quick = ["train packed", "train length-grouped", "train LoRA, packed", "generate transformers",
             "generate server (openai backend)"]
    assert list(rows) == paper + quick
    assert report["device"] == "cpu" and report["peak_bf16_tflops"] is None

    for name in paper[:2]:
        assert (rows[name]["ranks"], rows[name]["batch"], rows[name]["steps"]) == (2, "4x1024", 3)
        assert rows[name]["tokens_per_s"] > 0 and "error" not in rows[name]
    assert rows["generate, one shard per GPU"]["tokens_per_s"] > 0
    assert rows["generate, one shard per GPU"]["note"] == "2 shards, 4 tasks, model loads included"
    assert rows["generate, forced out-of-memory"]["note"] == "skipped: a forced out-of-memory needs CUDA (a memory cap)"

    for name in quick[:3]:
        row = rows[name]
        assert row["steps"] == 3 and row["tokens_per_s"] > 0 and row["flops_per_token"] > 0
        assert (row["ranks"], row["batch"]) == (1, "4x256")
        assert row["mfu"] is None and row["peak_memory_mb"] is None  # no published peak, no GPU memory
    assert rows["train packed"]["attention"] == "sdpa_varlen" and rows["train packed"]["padding_efficiency"] == 1.0
    assert rows["train length-grouped"]["attention"] == "sdpa"
    lora, full = rows["train LoRA, packed"], rows["train packed"]
    assert lora["trainable_params"] < full["trainable_params"] == full["n_params"]
    assert lora["flops_per_token"] < full["flops_per_token"]  # no weight gradients of the frozen weights
    assert rows["generate transformers"]["tokens_per_s"] > 0
    assert rows["generate server (openai backend)"]["tokens_per_s"] > 0
    table = result.stdout[result.stdout.index("check "):]
    assert all(name in table for name in rows) and "tokens/s" in table and "MFU" in table and "est. MB" in table
