"""bench/gpu_check.sh: one line without a GPU; on the CPU (--cpu-dry-run) every check it runs on a GPU."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from bench.gpu_check import peak_bf16_tflops
from tests.support.data import REPO_ROOT


def test_without_a_gpu_it_says_so_in_one_line_and_exits_at_once():
    if shutil.which("nvidia-smi"):
        pytest.skip("this machine has nvidia-smi: the check would run")
    result = subprocess.run(["bash", "bench/gpu_check.sh"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.splitlines() == [
        "gpu_check: no NVIDIA GPU here (nvidia-smi lists none); nothing to check. Run it on a CUDA machine."]


@pytest.mark.parametrize("name, peak", [
    ("NVIDIA H200", 989.0), ("NVIDIA H100 80GB HBM3", 989.0), ("NVIDIA H100 PCIe", 756.0),
    ("NVIDIA GH200 480GB", 989.0), ("NVIDIA A100-SXM4-80GB", 312.0), ("NVIDIA L40S", 362.0), ("NVIDIA L4", 121.0),
    ("NVIDIA A10", 125.0), ("Tesla T4", None),
])
def test_mfu_is_measured_against_the_gpus_published_dense_bf16_peak(name, peak):
    assert peak_bf16_tflops(name) == peak


@pytest.mark.slow
def test_cpu_dry_run_trains_generates_and_serves_through_the_projects_code(tmp_path):
    out = tmp_path / "gpu_check.json"
    server = f"{sys.executable} tests/support/llm_server.py --port {{port}} --model {{model}}"  # the loopback server in vLLM's place
    result = subprocess.run(["bash", "bench/gpu_check.sh", "--cpu-dry-run", "--out", str(out), "--server-command",
                             server], cwd=REPO_ROOT, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(out.read_text())
    rows = {row["check"]: row for row in report["rows"]}
    assert list(rows) == ["train packed", "train length-grouped", "train LoRA, packed", "generate transformers",
                          "generate server (openai backend)"]
    assert report["device"] == "cpu" and report["peak_bf16_tflops"] is None
    for name in ("train packed", "train length-grouped", "train LoRA, packed"):
        row = rows[name]
        assert row["steps"] == 3 and row["tokens_per_s"] > 0 and row["flops_per_token"] > 0
        assert row["mfu"] is None and row["peak_memory_mb"] is None  # no published peak, no GPU memory
    assert rows["train packed"]["attention"] == "sdpa_varlen" and rows["train packed"]["padding_efficiency"] == 1.0
    assert rows["train length-grouped"]["attention"] == "sdpa"
    lora, full = rows["train LoRA, packed"], rows["train packed"]
    assert lora["trainable_params"] < full["trainable_params"] == full["n_params"]
    assert lora["flops_per_token"] < full["flops_per_token"]  # no weight gradients of the frozen weights
    assert rows["generate transformers"]["tokens_per_s"] > 0
    assert rows["generate server (openai backend)"]["tokens_per_s"] > 0
    table = result.stdout[result.stdout.index("check "):]
    assert all(name in table for name in rows) and "tokens/s" in table and "MFU" in table
