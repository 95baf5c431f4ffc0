"""The expensive set-up the Llama checks share: one training run from a tiny "pretrained" Llama."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.tiny_models import save_tiny_llama
from tests.support.train_stage import make_project, run_stage

LLAMA_LORA = {"adapter": "lora", "lora_r": 4, "lora_alpha": 8, "lora_dropout": 0.0, "lr": 2e-2}


@pytest.fixture(scope="session")
def llama_run(tmp_path_factory) -> tuple[Path, Path]:
    """(project, base): the train stage on one ZeRO-3 rank from a tiny Llama with deepseek-coder's
    RoPE (theta 1e5, linear scaling by 4) and spare embedding rows, as CodeLlama and deepseek are
    fine-tuned on one GPU: LoRA with `lora_target_modules: auto`, packed rows, gradient
    checkpointing; 4 steps."""
    root = tmp_path_factory.mktemp("llama_run")
    base = save_tiny_llama(root / "base", "deepseek")
    project = make_project(root / "project", model={"init": "pretrained", "name_or_path": str(base)},
                           max_steps=4, save_steps=1000, packing=True, gradient_checkpointing=True, **LLAMA_LORA)
    run_stage(project)
    return project, base
