"""The CUDA GPUs this process may use, named as `CUDA_VISIBLE_DEVICES` names them."""

from __future__ import annotations

import os


def visible_gpus() -> list[str]:
    """One name per GPU torch sees: the entries of `CUDA_VISIBLE_DEVICES` when it is set (an
    index, a UUID or a MIG id), else "0".."N-1"; [] without CUDA."""
    import torch

    if not torch.cuda.is_available():
        return []
    count = torch.cuda.device_count()  # honours CUDA_VISIBLE_DEVICES
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed:
        return [name.strip() for name in listed.split(",")][:count]
    return [str(i) for i in range(count)]


def describe(gpus: list[str]) -> str:
    """'1 GPU is visible (CUDA_VISIBLE_DEVICES=3)', for errors that count GPUs."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    where = f" (CUDA_VISIBLE_DEVICES={listed})" if listed is not None else ""
    return f"{len(gpus)} GPU{'' if len(gpus) == 1 else 's'} {'is' if len(gpus) == 1 else 'are'} visible{where}"
