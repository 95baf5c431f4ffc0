"""Shards over several GPUs each (`runtime.generate.gpus_per_shard`), checked on the CPU with torch's
GPU count faked (`fake_gpus`): the plan never shares or invents a GPU, and each shard's server
sees only its own."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support import llm_server
import pytest

from evolcoder.benchmarks import load_benchmark
from evolcoder.config import ConfigError
from evolcoder.generate.config import GenerateConfig, GenerateRuntime, ServerConfig
from evolcoder.generate.placement import shard_gpus
from evolcoder.generate.runner import generate_benchmark
from tests.support.generate_settings import generate_settings

TEST_SERVER = f"{sys.executable} {Path(llm_server.__file__).resolve()} --port {{port}} --model {{model}}"


def served(model: Path, command: str, **overrides) -> tuple[GenerateConfig, GenerateRuntime]:
    server = ServerConfig(provider="openai", model=str(model), api_key_env=None, command=command)
    return generate_settings(**{"backend": "openai", "model": str(model), "server": server, "max_new_tokens": 8,
                                **overrides})


def test_each_shard_gets_its_own_gpus_in_the_order_they_are_visible(fake_gpus):
    fake_gpus(8, visible="4,5,6,7")
    config = (GenerateConfig(), GenerateRuntime(gpus_per_shard=2, device="cuda"))
    assert shard_gpus(*config, 2) == [["4", "5"], ["6", "7"]]
    assert shard_gpus(*config, 1) == [["4", "5"]]  # one shard (or one node's --shard) takes the first of them
    server = served(Path("m"), "vllm serve {model} --tensor-parallel-size {gpus} --port {port}", gpus_per_shard=4)
    assert shard_gpus(*server, 1) == [["4", "5", "6", "7"]]


def test_more_gpus_than_are_visible_are_refused_naming_both_knobs(fake_gpus):
    fake_gpus(3)
    with pytest.raises(ConfigError, match=r"^runtime\.generate\.num_shards: 2 shards x 2 GPU\(s\) each "
                                          r"\(runtime\.generate\.gpus_per_shard\) need 4 GPUs but 3 GPUs are visible; "
                                          r"set runtime\.generate\.num_shards to at most 1"):
        shard_gpus(GenerateConfig(), GenerateRuntime(gpus_per_shard=2), 2)
    with pytest.raises(ConfigError, match=r"^runtime\.generate\.gpus_per_shard: 4 GPUs per shard but 3 GPUs are "
                                          r"visible; set it to at most 3"):
        shard_gpus(GenerateConfig(), GenerateRuntime(gpus_per_shard=4), 1)


def test_several_gpus_per_shard_without_gpus_to_use_are_refused(fake_gpus):
    fake_gpus(0)
    with pytest.raises(ConfigError, match=r"gpus_per_shard: 2 GPUs per shard but no GPU is visible"):
        shard_gpus(GenerateConfig(), GenerateRuntime(gpus_per_shard=2), 1)
    fake_gpus(4)
    elsewhere = (GenerateConfig(backend="openai"), GenerateRuntime(gpus_per_shard=2))
    with pytest.raises(ConfigError, match=r"talk to a server elsewhere \(generate\.server\.command is null\)"):
        shard_gpus(*elsewhere, 1)
    assert shard_gpus(GenerateConfig(backend="openai"), GenerateRuntime(), 4) == []  # the server's GPUs are not this machine's
    assert shard_gpus(GenerateConfig(), GenerateRuntime(device="cpu"), 4) == []


def test_a_plan_that_needs_more_gpus_fails_before_a_server_starts(fake_gpus, tmp_path):
    fake_gpus(2)
    started = tmp_path / "started"
    config = served(tmp_path / "model", f"touch {started}; exec {TEST_SERVER}", num_shards=2, gpus_per_shard=2)
    with pytest.raises(ConfigError, match="need 4 GPUs but 2 GPUs are visible"):
        generate_benchmark(*config, "humaneval", load_benchmark("humaneval")[:2], tmp_path / "o.jsonl",
                           tmp_path / "work")
    assert not started.exists()


def test_a_started_server_sees_only_the_shards_gpus(fake_gpus, tmp_path):
    fake_gpus(8, visible="4,5,6,7")
    seen = tmp_path / "seen"
    config = served(tmp_path / "model", f"echo $CUDA_VISIBLE_DEVICES > {seen}; exec {TEST_SERVER}", gpus_per_shard=2)
    generate_benchmark(*config, "humaneval", load_benchmark("humaneval")[:2], tmp_path / "o.jsonl", tmp_path / "work")
    assert seen.read_text().split() == ["4,5"]


@pytest.mark.slow
def test_each_shard_process_and_its_server_see_only_their_gpus(fake_gpus, tmp_path):
    fake_gpus(2)  # the shard processes see none: this torch has no CUDA, so each uses the one GPU it is given
    seen = tmp_path / "seen"
    command = f"echo $CUDA_VISIBLE_DEVICES >> {seen}; exec {TEST_SERVER}"
    config = served(tmp_path / "model", command, num_shards=2)
    generate_benchmark(*config, "humaneval", load_benchmark("humaneval")[:4], tmp_path / "o.jsonl", tmp_path / "work")
    assert sorted(seen.read_text().split()) == ["0", "1"]
