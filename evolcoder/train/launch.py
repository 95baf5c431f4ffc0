"""Start the ranks with DeepSpeed's launcher: one GPU per rank, the right GPUs, the master's port.

On one node, `python -m deepspeed.launcher.launch` (the per-node launcher that the `deepspeed`
command starts there) runs `train.num_processes` ranks of `evolcoder.train.worker` on the GPUs
its world info names. With `train.hostfile`, `python -m deepspeed.launcher.runner` (the
`deepspeed` command) starts that launcher on every host listed there (over pdsh and ssh).
Without a GPU the ranks run on the CPU (`DS_ACCELERATOR=cpu`, gloo).
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from evolcoder.config import ConfigError
from evolcoder.cpu_numerics import TRAINING_RANK
from evolcoder.errors import EvolcoderError
from evolcoder.gpus import describe, visible_gpus
from evolcoder.train.config import TrainConfig

# What a rank on another host needs from this environment, besides what DeepSpeed exports itself
# (PYTHON*, NCCL*): the Hugging Face cache and token, the ops' build folder, the CUDA toolkit, a CPU
# rank's threads and kernels.
FORWARDED_ENV = ("HF_", "HUGGING_FACE_HUB_TOKEN", "TRANSFORMERS_", "TOKENIZERS_PARALLELISM",
                 "TORCH_EXTENSIONS_DIR", "CUDA_HOME", *TRAINING_RANK)
RANK_ENV_FILE = "deepspeed_env"  # in the run folder; DS_ENV_FILE points the launcher at it


class TrainingFailed(EvolcoderError):
    """A training rank exited with an error; its output above says why."""


def has_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def check_gpus_per_rank(cfg: TrainConfig) -> None:
    """Refuse more ranks per node than GPUs: accelerate puts rank r on GPU r % count, so extra
    ranks would stack on GPUs already holding one (8 copies of the work on one 80 GB card)."""
    if cfg.hostfile:
        check_hostfile(cfg)
        return
    gpus = visible_gpus()
    if gpus and cfg.num_processes > len(gpus):
        raise ConfigError(
            f"train.num_processes: {cfg.num_processes} ranks per node but {describe(gpus)}; each rank "
            f"needs its own GPU: set train.num_processes to at most {len(gpus)} (train.global_batch_size "
            "stays, the accumulation grows), or make more GPUs visible")


def check_hostfile(cfg: TrainConfig) -> None:
    """The hostfile lists `num_nodes` hosts with a slot (GPU) for each of `num_processes` ranks."""
    from deepspeed.launcher.runner import fetch_hostfile

    try:
        hosts = fetch_hostfile(cfg.hostfile)
    except ValueError as e:
        raise ConfigError(f"train.hostfile: {cfg.hostfile}: {e} (expected lines 'host slots=N')") from None
    if hosts is None:
        raise ConfigError(f"train.hostfile: {cfg.hostfile} does not exist")
    if len(hosts) < cfg.num_nodes:
        raise ConfigError(f"train.num_nodes: {cfg.num_nodes} nodes but {cfg.hostfile} lists {len(hosts)} "
                          f"host(s): {', '.join(hosts)}; add hosts or lower train.num_nodes")
    for host, slots in list(hosts.items())[:cfg.num_nodes]:
        if slots < cfg.num_processes:
            raise ConfigError(f"train.num_processes: {cfg.num_processes} ranks per node but {cfg.hostfile} gives "
                              f"{host} slots={slots} (its GPUs); lower train.num_processes to {slots} or fix "
                              "the hostfile")


def rank_gpus(cfg: TrainConfig) -> list[int]:
    """The GPU of each rank on this node: the first `num_processes` this process sees (as
    CUDA_VISIBLE_DEVICES lists them, else 0..N-1), or 0..P-1 for CPU processes. The launcher sets
    CUDA_VISIBLE_DEVICES of the ranks to these physical ids, so on a shared node the ranks stay on
    the GPUs they were given."""
    gpus = visible_gpus()[:cfg.num_processes]
    if not gpus:
        return list(range(cfg.num_processes))
    if not all(gpu.isdigit() for gpu in gpus):
        raise EvolcoderError(f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')}: DeepSpeed's launcher "
                             "selects GPUs by index; list indices (`nvidia-smi -L` shows them)")
    return [int(gpu) for gpu in gpus]


def launch_command(cfg: TrainConfig, spec_path: str | Path, port: int, master_addr: str | None = None) -> list[str]:
    """The DeepSpeed launcher command line for the worker module: the per-node launcher on one
    node, the `deepspeed` runner over a hostfile (`master_addr`: runtime.train.master_addr, which
    one node does not need: its ranks meet on 127.0.0.1, as DeepSpeed's runner has them do)."""
    if not cfg.hostfile:  # the runner would only pass these on to the per-node launcher, one process more
        from deepspeed.launcher.runner import encode_world_info

        cmd = [sys.executable, "-u", "-m", "deepspeed.launcher.launch",
               f"--world_info={encode_world_info({'localhost': rank_gpus(cfg)})}", "--master_addr=127.0.0.1",
               f"--master_port={port}"]
    else:
        cmd = [sys.executable, "-m", "deepspeed.launcher.runner", "--num_nodes", str(cfg.num_nodes),
               "--num_gpus", str(cfg.num_processes), "--master_port", str(port), "--hostfile", cfg.hostfile]
        if master_addr:
            cmd += ["--master_addr", master_addr]
    return cmd + ["--no_local_rank", "--module", "evolcoder.train.worker", str(spec_path)]


def launch_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ranks' environment: where there is no GPU, DeepSpeed's CPU accelerator, and one thread
    and the AVX2 kernels per rank whatever `base` says (the same bytes on any CPU that has them:
    evolcoder/cpu_numerics.py)."""
    env = dict(os.environ if base is None else base)
    if not has_gpu():
        env.setdefault("DS_ACCELERATOR", "cpu")
        env.update(TRAINING_RANK)
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


def write_rank_env(path: Path, env: Mapping[str, str]) -> Path:
    """The variables ranks on other hosts need, as `KEY=value` lines for the multi-node launcher.

    The launcher exports only PYTHON*, NCCL* and the lines of `.deepspeed_env` (in ~ and the
    working folder) to the other hosts. This file holds FORWARDED_ENV, then the lines of those
    `.deepspeed_env` files (DS_ENV_FILE, set to this file, hides them). It may hold HF_TOKEN:
    readable by its owner only, and deleted with the run folder.
    """
    lines = [f"{key}={value}" for key, value in sorted(env.items()) if key.startswith(FORWARDED_ENV)]
    name = env.get("DS_ENV_FILE", ".deepspeed_env")
    for folder in (Path.home(), Path(".")):  # the launcher's order: later lines win
        user_file = folder / name
        if user_file.is_file():
            lines += [line for line in user_file.read_text().splitlines() if line.strip()]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))
    return path


def launch(cfg: TrainConfig, spec_path: str | Path, run_dir: str | Path, master_addr: str | None = None) -> None:
    env = launch_env()
    if cfg.hostfile:
        env["DS_ENV_FILE"] = str(write_rank_env(Path(run_dir).resolve() / RANK_ENV_FILE, env))
    cmd = launch_command(cfg, spec_path, master_port(cfg), master_addr)
    print("train: " + " ".join(cmd), flush=True)
    result = subprocess.run(cmd, env=env)
    if result.returncode != 0:
        raise TrainingFailed(f"the DeepSpeed launcher exited with status {result.returncode} "
                             f"(spec {spec_path}); the ranks' errors are printed above. "
                             "Rerunning resumes from the last saved checkpoint.")


def master_port(cfg: TrainConfig) -> int:
    """A port free on rank 0's host (the hostfile's first host, or this one), where ranks meet."""
    host = first_host(cfg.hostfile) if cfg.hostfile else None
    if host is None or is_this_host(host):
        return free_port()
    return free_port_on(host, cfg.hostfile)


def first_host(hostfile: str) -> str:
    from deepspeed.launcher.runner import fetch_hostfile

    return next(iter(fetch_hostfile(hostfile)))


def is_this_host(host: str) -> bool:
    return host in ("localhost", "127.0.0.1", socket.gethostname(), socket.getfqdn())


FREE_PORT_CODE = "import socket; s = socket.socket(); s.bind(('', 0)); print(s.getsockname()[1])"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def free_port_on(host: str, hostfile: str) -> int:
    """Ask `host` over ssh (as the launcher reaches it) for a free port; this Python exists there
    too, since the repository and its environment sit on a shared filesystem at the same path."""
    remote = f"{shlex.quote(sys.executable)} -c {shlex.quote(FREE_PORT_CODE)}"
    cmd = ["ssh", "-o", "PasswordAuthentication=no", host, remote]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if result.returncode != 0 or not result.stdout.strip().isdigit():
        raise EvolcoderError(
            f"train: could not pick the master port on {host}, the first host of {hostfile} (`{' '.join(cmd)}`: "
            f"{(result.stderr or result.stdout).strip() or f'exit {result.returncode}'}); the launcher needs "
            f"passwordless ssh to every host and the repository at the same path there")
    return int(result.stdout)
