"""LoRA adapters through peft: wrap the model for training, merge the trained adapter into it.

The ranks train and save the adapter alone (`<output>/adapter/`: peft's adapter_config.json
and adapter_model.safetensors, with the tokenizer); `merge_adapter` then folds it into the
base weights in a process of its own, outside DeepSpeed, so `<output>/` is a plain Hugging
Face model that generation and evaluation load as they load a full fine-tune.
"""

from __future__ import annotations

from pathlib import Path

import torch

from evolcoder.errors import EvolcoderError
from evolcoder.train.config import TrainConfig
from evolcoder.train.llama import write_legacy_rope_keys
from evolcoder.train.model import add_pad_token, load_pretrained

ADAPTER_DIR = "adapter"  # inside the output folder
# train.lora_target_modules: auto, by the model's config.model_type: its attention and MLP projections
LORA_TARGETS = {
    "gpt_bigcode": ("c_attn", "c_proj", "c_fc"),  # StarCoder
    "llama": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),  # CodeLlama, deepseek-coder
}
PRECISION_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


class AdapterError(EvolcoderError):
    """LoRA cannot be set up as configured; the message names the key and what would do."""


def linear_layer_names(model: torch.nn.Module) -> list[str]:
    """The distinct last names of the model's linear layers (GPTBigCode: c_attn, c_fc, c_proj, lm_head)."""
    return sorted({name.rsplit(".", 1)[-1] for name, module in model.named_modules()
                   if isinstance(module, torch.nn.Linear)})


def check_targets(model: torch.nn.Module, targets: list[str]) -> None:
    """Every entry of `targets` must be the last name of at least one linear layer."""
    linear = linear_layer_names(model)
    unknown = [t for t in targets if t not in linear]
    if unknown:
        raise AdapterError(f"train.lora_target_modules: {', '.join(map(repr, unknown))} names no module of "
                           f"the model; its linear layers are: {', '.join(linear)}")


def lora_targets(model: torch.nn.Module, setting: str | list[str]) -> list[str]:
    """The modules `train.lora_target_modules` names: for auto, those of the model's architecture."""
    if setting != "auto":
        check_targets(model, setting)
        return list(setting)
    model_type = model.config.model_type
    if model_type not in LORA_TARGETS:
        raise AdapterError(
            f"train.lora_target_modules: auto knows the projections of {' and '.join(LORA_TARGETS)} models, not of "
            f"model type {model_type!r}; set it to a list of the modules to adapt, from its linear layers: "
            f"{', '.join(linear_layer_names(model))}")
    return list(LORA_TARGETS[model_type])


def add_lora(model: torch.nn.Module, cfg: TrainConfig) -> torch.nn.Module:
    """`model` wrapped by peft with LoRA on `cfg.lora_target_modules`; only the adapters train."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                        target_modules=lora_targets(model, cfg.lora_target_modules), bias="none",
                        task_type="CAUSAL_LM")
    torch.manual_seed(cfg.seed)  # the same adapters on every rank and in every run, whatever ran before
    peft_model = get_peft_model(model, config)
    if cfg.gradient_checkpointing:  # the frozen embeddings give checkpointed blocks no input that needs grad
        peft_model.enable_input_require_grads()
    return peft_model


def merge_adapter(base: str, revision: str | None, output_dir: str | Path, precision: str) -> None:
    """Fold `<output_dir>/adapter` into the base model and save the result in `output_dir`.

    The base is loaded as training loaded it, PAD token included (added the same way, so the
    vocabulary matches the adapter's tokenizer), in the training precision (`train.precision`):
    the merge and the saved model are bf16 or fp16 as a full fine-tune's ZeRO-3 save is, not
    fp32 (StarCoder-15B: 31 GB instead of 62, in host memory and on disk).
    """
    from peft import PeftModel
    from transformers import AutoTokenizer

    adapter_dir = Path(output_dir) / ADAPTER_DIR
    tokenizer = AutoTokenizer.from_pretrained(adapter_dir)
    model, base_tokenizer = load_pretrained(base, revision=revision, dtype=PRECISION_DTYPES[precision])
    add_pad_token(model, base_tokenizer)
    if len(base_tokenizer) != len(tokenizer):
        raise AdapterError(f"{adapter_dir}: the adapter's tokenizer has {len(tokenizer)} tokens, the base "
                           f"{base} with PAD {len(base_tokenizer)}; was it trained from another base?")
    merged = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
    merged.config.use_cache = True
    merged.generation_config.pad_token_id = tokenizer.pad_token_id
    merged.generation_config.eos_token_id = tokenizer.eos_token_id
    merged.save_pretrained(output_dir)
    write_legacy_rope_keys(output_dir)
    tokenizer.save_pretrained(output_dir)
