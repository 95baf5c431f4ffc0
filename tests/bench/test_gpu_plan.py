"""bench/gpu_plan.py: what the GPU check will run for the GPUs it finds, decided before any GPU is
touched; here for GPUs that are not there (counts and card sizes given, or a stand-in nvidia-smi)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

from bench import gpu_plan
from bench.gpu_plan import GPU, Card, TrainRow, nvidia_smi_cards, plan, shm_note
from bench.train_memory import usable
from tests.support.data import REPO_ROOT

H100 = Card("0", "NVIDIA H100 80GB HBM3", 81559, 9.0)
L4 = Card("0", "NVIDIA L4", 23034, 8.9)
T4 = Card("0", "Tesla T4", 15360, 7.5)


def cards(card: Card, n: int) -> list[Card]:
    return [dataclasses.replace(card, index=str(i)) for i in range(n)]


def trainings(rows) -> dict[str, TrainRow]:
    return {row.check: row for row in rows if isinstance(row, TrainRow)}


def test_on_eight_80gb_gpus_the_paper_rows_run_its_settings_on_every_gpu():
    rows = plan(cards(H100, 8), "paper", GPU)
    assert [row.check for row in rows] == [
        "train fp16, zero3_offload, checkpointing", "train bf16, zero3, checkpointing",
        "generate, one shard per GPU", "generate, forced out-of-memory"]
    fp16, bf16 = trainings(rows).values()
    assert fp16.config.deepspeed_config == "configs/deepspeed/zero3_offload.json"
    assert bf16.config.deepspeed_config == "configs/deepspeed/zero3.json"
    for row in (fp16, bf16):
        c = row.config
        assert (c.num_processes, c.gradient_checkpointing, c.max_length) == (8, True, 2048)
        assert (c.per_device_batch_size, c.gradient_accumulation_steps, c.global_batch_size) == (16, 4, 512)
        assert row.skip is None and row.estimate_bytes <= usable(H100.memory_bytes)
    shards, oom = rows[2:]
    assert (shards.way, shards.runtime.num_shards, shards.config.dtype, shards.config.tabs) == (
        "shards", 8, "float16", True)
    assert (oom.way, oom.runtime.num_shards, oom.runtime.batch_size, oom.skip) == ("oom", 1, 32, None)


def test_on_one_24gb_gpu_every_training_row_fits_the_card():
    rows = plan([L4], "all", GPU)
    for row in trainings(rows).values():
        assert row.skip is None and row.estimate_bytes <= usable(L4.memory_bytes), row
        assert row.config.world_size == 1
    quick = trainings(rows)["train packed"].config
    assert quick.per_device_batch_size < GPU.batch  # 32 x 1024 tokens would not fit
    assert trainings(rows)["train bf16, zero3, checkpointing"].config.per_device_batch_size == 8


def test_a_gpu_without_native_bf16_skips_only_the_bf16_rows():
    rows = trainings(plan(cards(T4, 2), "all", GPU))
    assert rows["train bf16, zero3, checkpointing"].skip == "no native bf16 on Tesla T4"
    assert rows["train packed"].skip == "no native bf16 on Tesla T4"  # the quick rows train in bf16
    assert rows["train fp16, zero3_offload, checkpointing"].skip is None


def test_the_paper_rows_follow_the_profile_read_in_one_place(monkeypatch):
    train, generate, generate_runtime = gpu_plan.paper_profile()
    monkeypatch.setattr(gpu_plan, "paper_profile", lambda: (
        dataclasses.replace(train, precision="bf16", deepspeed_config="configs/deepspeed/zero3.json",
                            per_device_batch_size=4, global_batch_size=256),  # 8 accumulation steps on 8 GPUs
        dataclasses.replace(generate, dtype="bfloat16"), generate_runtime))
    rows = plan(cards(H100, 4), "paper", GPU)
    assert list(trainings(rows)) == ["train bf16, zero3, checkpointing", "train fp16, zero3_offload, checkpointing"]
    assert all((r.config.per_device_batch_size, r.config.gradient_accumulation_steps, r.config.global_batch_size)
               == (4, 8, 128) for r in trainings(rows).values())  # the profile's accumulation on 4 GPUs
    assert rows[2].config.dtype == "bfloat16" and rows[2].runtime.num_shards == 4


def test_the_cpu_dry_run_plans_cpu_ranks_and_skips_the_forced_out_of_memory():
    rows = plan([], "paper", gpu_plan.CPU_DRY_RUN)
    assert all(r.config.precision == "fp32" and r.config.world_size == 2 for r in trainings(rows).values())
    assert rows[-1].skip == "a forced out-of-memory needs CUDA (a memory cap)"


def test_a_small_dev_shm_is_named_for_multi_rank_runs():
    assert "64 MiB" in shm_note(64 * 2**20, ranks=8) and "--shm-size" in shm_note(64 * 2**20, ranks=8)
    assert shm_note(64 * 2**20, ranks=1) is None and shm_note(32 * 2**30, ranks=8) is None


@pytest.fixture
def fake_nvidia_smi(tmp_path, monkeypatch):
    """An nvidia-smi on PATH listing four GPUs (the CSV query) under a header of CUDA 12.4."""
    script = tmp_path / "bin" / "nvidia-smi"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\ncase \"$1\" in\n"
                      "  -L) echo 'GPU 0: NVIDIA A100-SXM4-40GB';;\n"
                      "  --query-gpu=*) printf '0, NVIDIA A100-SXM4-40GB, 40960, 8.0\\n1, NVIDIA A100-SXM4-40GB, "
                      "40960, 8.0\\n2, NVIDIA A100-SXM4-80GB, 81920, 8.0\\n3, NVIDIA A100-SXM4-80GB, 81920, 8.0\\n';;\n"
                      "  *) echo '| NVIDIA-SMI 550.54.15   Driver Version: 550.54.15   CUDA Version: 12.4 |';;\n"
                      "esac\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    return script


def test_the_cards_are_those_cuda_visible_devices_names(fake_nvidia_smi, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert [(c.index, c.memory_mib, c.native_bf16) for c in nvidia_smi_cards()] == [
        ("2", 81920, True), ("3", 81920, True)]
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert len(nvidia_smi_cards()) == 4 and gpu_plan.driver_cuda_version() == "12.4"


def test_the_plan_sizes_every_row_for_the_smallest_card_it_finds(fake_nvidia_smi, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    result = subprocess.run([sys.executable, "-m", "bench.gpu_plan", "--mode", "paper"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == ("gpu_check plan: 2 x NVIDIA A100-SXM4-40GB (40,960 MiB = 42.9 GB, compute capability 8.0), "
                        "2 x NVIDIA A100-SXM4-80GB (81,920 MiB = 85.9 GB, compute capability 8.0)")
    assert "usable per GPU 37.2 GB" in lines[2]
    assert any(line.startswith("  train bf16, zero3, checkpointing") and "4 rank(s), 16 x 2048 tokens x 4 accumulation"
               in line for line in lines)
