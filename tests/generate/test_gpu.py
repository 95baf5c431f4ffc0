"""Generation on GPU nodes, checked on the CPU with torch's GPU count faked (`fake_gpus`):
one GPU per shard, out-of-memory batches halved, numerics in the plan, native bf16 only,
models loaded straight onto their GPU (or spread over a shard's GPUs)."""

from __future__ import annotations

import json

import pytest
import torch

from evolcoder.config import ConfigError
from evolcoder.benchmarks import load_benchmark
from evolcoder.errors import EvolcoderError
from evolcoder.generate.config import GenerateConfig, GenerateRuntime
from evolcoder.generate.hf_backend import TransformersBackend, pick_dtype
from evolcoder.generate.runner import generate_benchmark, make_jobs, prepare_work_dir
from tests.support.generate_settings import generate_settings


@pytest.fixture(scope="module")
def jobs():
    return make_jobs("humaneval", load_benchmark("humaneval")[:4], tabs=False)


def _config(checkpoint, **overrides) -> tuple[GenerateConfig, GenerateRuntime]:
    return generate_settings(**{"model": str(checkpoint), "max_new_tokens": 8, "batch_size": 4, **overrides})


def test_more_shards_than_gpus_are_refused_before_any_model_loads(fake_gpus, tiny_checkpoint, tmp_path):
    fake_gpus(1)
    problems = load_benchmark("humaneval")[:2]
    with pytest.raises(ConfigError, match=r"^runtime\.generate\.num_shards: 2 shards x 1 GPU\(s\) each .* need 2 "
                                          r"GPUs but 1 GPU is visible; .*at most 1"):
        generate_benchmark(*_config(tiny_checkpoint, num_shards=2), "humaneval", problems,
                           tmp_path / "o.jsonl", tmp_path / "work")


def test_auto_dtype_is_bf16_only_where_the_gpu_has_it_natively(fake_gpus):
    cuda = torch.device("cuda")
    fake_gpus(1, native_bf16=False)  # a V100/T4: torch emulates bf16, slowly
    assert pick_dtype("auto", cuda) == torch.float16
    fake_gpus(1, native_bf16=True)  # A100/H100
    assert pick_dtype("auto", cuda) == torch.bfloat16
    assert pick_dtype("auto", torch.device("cpu")) == torch.float32
    assert pick_dtype("float16", torch.device("cpu")) == torch.float16


def test_cpu_fp32_shards_are_not_resumed_by_a_gpu_bf16_run(fake_gpus, tiny_checkpoint, jobs, tmp_path):
    config = _config(tiny_checkpoint)
    generate_benchmark(*config, "humaneval", load_benchmark("humaneval")[:4], tmp_path / "o.jsonl", tmp_path / "w")
    shard = tmp_path / "w" / "shard-0-of-1.jsonl"
    assert shard.stat().st_size > 0
    cpu_plan = json.loads((tmp_path / "w" / "plan.json").read_text())
    assert (cpu_plan["numerics"]["dtype"], cpu_plan["numerics"]["device"]) == ("float32", "cpu")
    assert cpu_plan["numerics"]["torch"] == torch.__version__

    fake_gpus(1, native_bf16=True)
    prepare_work_dir(tmp_path / "w", *config, jobs)
    gpu_plan = json.loads((tmp_path / "w" / "plan.json").read_text())
    assert (gpu_plan["numerics"]["dtype"], gpu_plan["numerics"]["device"]) == ("bfloat16", "cuda")
    assert gpu_plan["fingerprint"] != cpu_plan["fingerprint"] and not shard.exists()


def record_loads(monkeypatch) -> list[dict]:
    """Record the keyword arguments of every model load, and load on the CPU (this torch has no CUDA)."""
    from transformers import AutoModelForCausalLM

    from evolcoder.generate import hf_backend

    loads, real = [], AutoModelForCausalLM.from_pretrained

    def from_pretrained(path, **kwargs):
        loads.append(kwargs)
        return real(path, dtype=kwargs["dtype"])

    monkeypatch.setattr(hf_backend.AutoModelForCausalLM, "from_pretrained", from_pretrained)
    return loads


def test_each_shard_loads_its_model_straight_onto_its_gpu(fake_gpus, tiny_checkpoint, monkeypatch):
    fake_gpus(1, native_bf16=True)
    loads = record_loads(monkeypatch)
    TransformersBackend(*_config(tiny_checkpoint, device="cuda"))
    assert loads == [{"dtype": torch.bfloat16, "device_map": torch.device("cuda")}]


def test_a_shard_of_several_gpus_spreads_the_model_over_exactly_those(fake_gpus, tiny_checkpoint, monkeypatch):
    fake_gpus(8, visible="2,3,4,5")  # a shard process sees its own GPUs only; one shard in-process takes the first
    free = {0: 70 << 30, 1: 71 << 30, 2: 72 << 30, 3: 73 << 30}
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda i: (free[i], 80 << 30))
    loads = record_loads(monkeypatch)
    TransformersBackend(*_config(tiny_checkpoint, device="cuda", gpus_per_shard=2))
    assert loads == [{"dtype": torch.bfloat16, "device_map": "auto", "max_memory": {0: 70 << 30, 1: 71 << 30}}]


def fail_above(backend: TransformersBackend, rows: int) -> list[int]:
    """Make the backend's model run out of GPU memory on batches of more than `rows` rows;
    return the row count of every call."""
    generate, calls = backend.model.generate, []

    def limited(**kwargs):
        calls.append(kwargs["input_ids"].shape[0])
        if calls[-1] > rows:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return generate(**kwargs)

    backend.model.generate = limited
    return calls


def test_out_of_memory_halves_the_batch_and_keeps_every_text(tiny_checkpoint, jobs, capsys):
    config = _config(tiny_checkpoint, n_samples=2, temperature=0.8, seed=3)
    alone = TransformersBackend(*config)
    expected = [_texts(alone.generate([job])[0]) for job in jobs]
    backend = TransformersBackend(*config)
    calls = fail_above(backend, rows=2)  # one prompt x 2 samples fits
    assert [_texts(samples) for samples in backend.generate(jobs)] == expected
    assert calls == [8, 4, 2, 2, 2, 2]
    assert "out of GPU memory with 4 prompts per batch; retrying with 2" in capsys.readouterr().err
    again = backend.generate(jobs[:2])
    assert [_texts(samples) for samples in again] == expected[:2]
    assert calls[6:] == [2, 2]  # starts at the size that fitted
    assert {(c.batch_shape[0], c.batch_size) for samples in again for c in samples} == {(2, 1)}


def _texts(samples):
    return [(c.text, c.finish_reason, c.n_tokens) for c in samples]


def test_a_prompt_that_does_not_fit_alone_fails_naming_the_task(tiny_checkpoint, jobs):
    backend = TransformersBackend(*_config(tiny_checkpoint))
    fail_above(backend, rows=0)
    with pytest.raises(EvolcoderError, match=rf"^task {jobs[0].task_id}: out of GPU memory .* even alone"):
        backend.generate(jobs)
