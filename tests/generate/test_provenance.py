"""The meta file beside each samples file: the versions that produced the samples, and their batch
shapes, with a run whose samples came from more than one batch size reported as mixed (greedy text
can depend on the batch shape)."""

from __future__ import annotations

import dataclasses
import json
from importlib import metadata

import pytest
import torch

from evolcoder.benchmarks import load_benchmark
from evolcoder.generate.config import GenerateConfig, GenerateRuntime
from evolcoder.generate.hf_backend import TransformersBackend
from evolcoder.generate.provenance import versions
from evolcoder.generate.runner import generate_benchmark
from tests.support.generate_settings import generate_settings
from evolcoder.jsonl import read_jsonl


@pytest.fixture(scope="module")
def problems():
    return load_benchmark("humaneval")[:10]


def _config(checkpoint, **overrides) -> tuple[GenerateConfig, GenerateRuntime]:
    return generate_settings(**{"model": str(checkpoint), "max_new_tokens": 4, "batch_size": 4, **overrides})


def _meta(folder) -> dict:
    return json.loads((folder / "humaneval.meta.json").read_text())


def test_a_clean_run_names_its_versions_and_batch_shapes(tiny_checkpoint, problems, tmp_path, capsys):
    generate_benchmark(*_config(tiny_checkpoint), "humaneval", problems, tmp_path / "humaneval.jsonl", tmp_path / "w")
    meta = _meta(tmp_path)
    assert meta["backend"] == "transformers" and meta["model"] == str(tiny_checkpoint) and meta["server"] is None
    assert meta["versions"] == {"python": meta["versions"]["python"], "torch": metadata.version("torch"),
                                "transformers": metadata.version("transformers"), "vllm": None}
    assert meta["numerics"]["dtype"] == "float32"
    assert meta["numerics"]["transformers"] == metadata.version("transformers")  # a new release starts afresh
    rows = read_jsonl(tmp_path / "humaneval.jsonl")
    shapes = {f"{r['batch_shape'][0]}x{r['batch_shape'][1]}" for r in rows}
    assert set(meta["batch_shapes"]) == shapes and sum(meta["batch_shapes"].values()) == 10
    assert sorted(r["batch_shape"][0] for r in rows) == [2] * 2 + [4] * 8  # the shard's last call holds 2
    assert meta["batch_sizes"] == {"4": 10} and meta["mixed_batch_shapes"] is False
    assert "warning" not in capsys.readouterr().err


def test_a_run_halved_mid_way_is_reported_as_mixed(tiny_checkpoint, problems, tmp_path, monkeypatch, capsys):
    generate, calls = TransformersBackend._generate, []

    def out_of_memory_after_the_first_call(backend, jobs):
        calls.append(len(jobs))
        if len(calls) > 1 and len(jobs) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return generate(backend, jobs)

    monkeypatch.setattr(TransformersBackend, "_generate", out_of_memory_after_the_first_call)
    generate_benchmark(*_config(tiny_checkpoint), "humaneval", problems, tmp_path / "humaneval.jsonl", tmp_path / "w")
    assert calls == [4, 4, 2, 2, 2]
    meta = _meta(tmp_path)
    assert meta["batch_sizes"] == {"4": 4, "2": 6} and meta["mixed_batch_shapes"] is True
    err = capsys.readouterr().err
    assert (f"warning: the samples of {tmp_path / 'humaneval.jsonl'} came from batches of different sizes "
            "(4 samples at 4 prompts per call, 6 samples at 2 prompts per call)") in err
    assert f"delete {tmp_path / 'w'} and generate again" in err


def test_a_run_resumed_with_another_batch_size_is_reported_as_mixed(tiny_checkpoint, problems, tmp_path):
    config, runtime = _config(tiny_checkpoint, batch_size=2)
    generate_benchmark(config, runtime, "humaneval", problems[:4], tmp_path / "humaneval.jsonl", tmp_path / "w")
    assert _meta(tmp_path)["mixed_batch_shapes"] is False
    shard = tmp_path / "w" / "shard-0-of-1.jsonl"
    shard.write_text("".join(shard.read_text().splitlines(keepends=True)[:2]))  # as if killed after one call

    bigger = dataclasses.replace(runtime, batch_size=4)  # a runtime knob: the shard file is resumed
    generate_benchmark(config, bigger, "humaneval", problems[:4], tmp_path / "humaneval.jsonl", tmp_path / "w")
    meta = _meta(tmp_path)
    assert meta["batch_sizes"] == {"4": 2, "2": 2} and meta["mixed_batch_shapes"] is True


def test_vllm_is_named_by_its_own_report():
    vllm = {"command": "vllm serve m --port {port}", "gpus_per_shard": 4, "version": {"version": "0.6.3"},
            "models": [{"id": "m", "owned_by": "vllm", "root": "m", "max_model_len": 2048}]}
    assert versions(vllm)["vllm"] == "0.6.3"
    other = {**vllm, "models": [{"id": "m", "owned_by": "local"}], "version": {"version": "1.0"}}
    assert versions(other)["vllm"] is None  # another server's /version is not vLLM's
