"""Launching ranks on GPU nodes, checked on the CPU with torch's GPU count faked (`fake_gpus`):
one GPU per rank, the GPUs CUDA_VISIBLE_DEVICES picks, the world the batch was derived for,
the multi-node master address, port and environment, and no CPU workarounds on a GPU."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import types
from pathlib import Path

import pytest

from evolcoder.config import ConfigError, from_dict, load_runtime, load_section
from evolcoder.errors import EvolcoderError
from evolcoder.train import launch
from evolcoder.train.config import ModelConfig, TrainConfig, TrainRuntime
from evolcoder.train.runner import RunPaths, run_training


ZERO3 = str(Path(__file__).resolve().parents[2] / "configs/deepspeed/zero3.json")


def no_data(tmp_path: Path) -> RunPaths:
    return RunPaths(tmp_path / "train.jsonl", tmp_path / "out", tmp_path / "curves")


def test_the_paper_profile_on_one_gpu_is_refused_before_launching(fake_gpus, repo_root, monkeypatch, tmp_path,
                                                                 profile_params):
    fake_gpus(1)
    monkeypatch.chdir(repo_root)
    train = load_section(profile_params("wizardcoder-15b"), "train", TrainConfig)
    with pytest.raises(ConfigError, match=r"^train\.num_processes: 8 ranks per node but 1 GPU is visible; .*"
                                          r"at most 1"):
        run_training(ModelConfig(), train, TrainRuntime(), no_data(tmp_path))


def test_visible_gpus_count_the_ones_cuda_visible_devices_leaves(fake_gpus, tmp_path):
    fake_gpus(8, visible="4,5")
    with pytest.raises(ConfigError, match=r"4 ranks per node but 2 GPUs are visible \(CUDA_VISIBLE_DEVICES=4,5\)"):
        run_training(ModelConfig(), TrainConfig(num_processes=4, per_device_batch_size=2, deepspeed_config=ZERO3),
                     TrainRuntime(), no_data(tmp_path))


@pytest.mark.parametrize("hosts, message", [
    ("node-a slots=8\n", r"train\.num_nodes: 2 nodes but .* lists 1 host\(s\): node-a"),
    ("node-a slots=8\nnode-b slots=4\n", r"train\.num_processes: 8 ranks per node but .* gives node-b slots=4"),
])
def test_a_hostfile_without_a_gpu_for_every_rank_is_refused(fake_gpus, tmp_path, hosts, message):
    fake_gpus(8)
    (tmp_path / "hostfile").write_text(hosts)
    cfg = TrainConfig(num_nodes=2, num_processes=8, hostfile=str(tmp_path / "hostfile"), global_batch_size=16,
                      per_device_batch_size=1, deepspeed_config=ZERO3)
    with pytest.raises(ConfigError, match=message):
        run_training(ModelConfig(), cfg, TrainRuntime(), no_data(tmp_path))


def rank_gpus_launched(monkeypatch, cfg: TrainConfig, tmp_path: Path) -> dict[str, list[int]]:
    """Run `launch` with the launcher's start captured; return the GPUs DeepSpeed's per-node
    launcher gives each host's ranks: its command line parsed by the launcher's own parser, the
    world info decoded as it decodes it (urlsafe base64 of JSON)."""
    from deepspeed.launcher import launch as ds_launch

    started = []
    monkeypatch.setattr(launch.subprocess, "run",
                        lambda cmd, env: started.append(cmd) or subprocess.CompletedProcess(cmd, 0))
    launch.launch(cfg, "spec.json", tmp_path)
    assert started[0][1:4] == ["-u", "-m", "deepspeed.launcher.launch"]
    monkeypatch.setattr(sys, "argv", ["launch.py", *started[0][4:]])
    args = ds_launch.parse_args()
    assert (args.master_addr, args.module, args.no_local_rank) == ("127.0.0.1", True, True)
    assert [args.training_script, *args.training_script_args] == ["evolcoder.train.worker", "spec.json"]
    return json.loads(base64.urlsafe_b64decode(args.world_info))


def test_cuda_visible_devices_choose_the_gpus_of_the_ranks(fake_gpus, monkeypatch, tmp_path):
    fake_gpus(4, visible="2,3")
    two = TrainConfig(num_processes=2, per_device_batch_size=4)
    assert rank_gpus_launched(monkeypatch, two, tmp_path) == {"localhost": [2, 3]}
    one = TrainConfig(num_processes=1, per_device_batch_size=8)
    assert rank_gpus_launched(monkeypatch, one, tmp_path) == {"localhost": [2]}


def test_without_cuda_visible_devices_the_ranks_take_the_first_gpus(fake_gpus, monkeypatch, tmp_path):
    fake_gpus(4)
    cfg = TrainConfig(num_processes=2, per_device_batch_size=4)
    assert rank_gpus_launched(monkeypatch, cfg, tmp_path) == {"localhost": [0, 1]}


def test_gpu_uuids_in_cuda_visible_devices_are_refused_naming_the_fix(fake_gpus):
    fake_gpus(1, visible="GPU-5c1a2f0e")
    with pytest.raises(EvolcoderError, match="CUDA_VISIBLE_DEVICES=GPU-5c1a2f0e: .* list indices"):
        launch.rank_gpus(TrainConfig())


def test_multi_node_launch_meets_at_master_addr_on_a_port_free_on_the_first_host(fake_gpus, monkeypatch, tmp_path):
    fake_gpus(8)
    hostfile = tmp_path / "hostfile"
    hostfile.write_text("node-a slots=8\nnode-b slots=8\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".deepspeed_env").write_text("NCCL_SOCKET_IFNAME=ib0\n\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    for key, value in {"HF_HOME": "/shared/hf", "HF_TOKEN": "hf_secret", "TORCH_EXTENSIONS_DIR": "/shared/ext",
                       "CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5,6,7"}.items():
        monkeypatch.setenv(key, value)
    calls = []

    def run(cmd, **kwargs):
        calls.append((cmd, kwargs))
        return subprocess.CompletedProcess(cmd, 0, stdout="41234\n" if cmd[0] == "ssh" else None)

    monkeypatch.setattr(launch.subprocess, "run", run)
    params = tmp_path / "params.yaml"
    params.write_text(f"train:\n  num_nodes: 2\n  num_processes: 8\n  hostfile: {hostfile}\n"
                      "  global_batch_size: 512\n  per_device_batch_size: 16\n"
                      "runtime:\n  train:\n    master_addr: 10.1.0.1\n")
    cfg = load_section(params, "train", TrainConfig)
    launch.launch(cfg, "spec.json", tmp_path, load_runtime(params, "train", TrainRuntime).master_addr)

    (ssh, _), (cmd, kwargs) = calls
    assert ssh[:4] == ["ssh", "-o", "PasswordAuthentication=no", "node-a"]  # rank 0's host, not this one
    assert cmd[cmd.index("--master_port") + 1] == "41234" and cmd[cmd.index("--master_addr") + 1] == "10.1.0.1"
    assert cmd[cmd.index("--hostfile") + 1] == str(hostfile) and cmd[2] == "deepspeed.launcher.runner"
    env_file = Path(kwargs["env"]["DS_ENV_FILE"])
    lines = env_file.read_text().splitlines()
    assert {"HF_HOME=/shared/hf", "HF_TOKEN=hf_secret", "TORCH_EXTENSIONS_DIR=/shared/ext"} <= set(lines)
    assert lines[-1] == "NCCL_SOCKET_IFNAME=ib0"  # the user's own file, which DS_ENV_FILE would hide
    assert not any(line.startswith("CUDA_VISIBLE_DEVICES") for line in lines)  # each host has its own
    assert all("=" in line for line in lines)  # DeepSpeed splits every line at its first '='
    assert stat.S_IMODE(os.stat(env_file).st_mode) == 0o600


def test_master_addr_is_a_runtime_knob_outside_the_run_key(tmp_path):
    from evolcoder.config import recipe

    params = tmp_path / "params.yaml"
    params.write_text("train: {}\nruntime:\n  train:\n    master_addr: 10.1.0.1\n")
    assert load_runtime(params, "train", TrainRuntime).master_addr == "10.1.0.1"
    assert "master_addr" not in recipe(load_section(params, "train", TrainConfig))
    with pytest.raises(ConfigError, match="runtime.train.master_addr"):
        from_dict(TrainRuntime, {"master_addr": " "}, prefix="runtime.train")


def test_master_port_comes_from_the_first_host_unreachable_says_what_to_do(monkeypatch, tmp_path):
    hostfile = tmp_path / "hostfile"
    hostfile.write_text("node-a slots=1\nnode-b slots=1\n")
    monkeypatch.setattr(launch.subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(
        cmd, 255, stdout="", stderr="ssh: Could not resolve hostname node-a"))
    cfg = TrainConfig(num_nodes=2, hostfile=str(hostfile), global_batch_size=16)
    with pytest.raises(EvolcoderError, match="master port on node-a, .*Could not resolve.*passwordless ssh"):
        launch.master_port(cfg)


def test_a_rank_refuses_a_world_smaller_than_the_batch_was_derived_for(tmp_path, capsys, monkeypatch):
    from evolcoder.train import worker

    monkeypatch.setattr(worker, "skip_shm_comm_build", lambda: None)
    monkeypatch.setattr(worker, "configure_cpu_ranks", lambda: False)
    monkeypatch.setattr(worker, "training_arguments", lambda *a: types.SimpleNamespace(world_size=6))
    monkeypatch.setattr(worker, "build_trainer", lambda *a: pytest.fail("trained with the wrong world size"))
    spec = tmp_path / "spec.json"
    train = {"num_nodes": 2, "num_processes": 4, "hostfile": "hosts", "global_batch_size": 64,
             "per_device_batch_size": 4}
    spec.write_text(json.dumps({"train": train, "runtime": {}, "model": "unused", "data": "unused", "run_dir": str(tmp_path)}))
    assert worker.main([str(spec)]) == 1
    err = capsys.readouterr().err
    assert "6 rank(s) started" in err and "2 x 4 = 8 ranks" in err
    assert "global batch would be 48, not train.global_batch_size=64" in err and "train.hostfile" in err


def test_a_gpu_rank_neither_probes_deepspeed_ops_nor_skips_the_shm_build(fake_gpus, monkeypatch):
    import deepspeed.ops

    from evolcoder.train import worker

    fake_gpus(1)
    if "__compatible_ops__" in vars(deepspeed.ops):  # probed by an earlier test
        monkeypatch.delitem(vars(deepspeed.ops), "__compatible_ops__")
    monkeypatch.setattr(deepspeed.ops, "_probe_compatible_ops",
                        lambda: pytest.fail("probed every DeepSpeed op (compilers, GPU queries) on a GPU"))
    worker.skip_shm_comm_build()
    assert "__compatible_ops__" not in vars(deepspeed.ops)
