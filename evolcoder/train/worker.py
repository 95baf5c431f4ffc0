"""One training rank, started by the DeepSpeed launcher: `python -m evolcoder.train.worker SPEC`.

SPEC is the JSON file `evolcoder.train.runner` writes: the train params, the model to start
from, the data, and where checkpoints, the final model, curves and the summary go.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase, Trainer, TrainingArguments

from evolcoder.config import from_dict
from evolcoder.errors import EvolcoderError
from evolcoder.jsonl import read_jsonl, write_json
from evolcoder.train.adapters import ADAPTER_DIR, add_lora
from evolcoder.train.batching import PaddingCollator, SupervisedDataset, packing_collator
from evolcoder.train.config import VARLEN_SDPA, TrainConfig, TrainRuntime, check_attention
from evolcoder.train.curves import (CountingTrainer, CurveCallback, TokenTally, steady_tokens_per_s,
                                    summarize)
from evolcoder.train.llama import write_legacy_rope_keys
from evolcoder.train.model import add_pad_token, count_parameters, load_pretrained
from evolcoder.train.packing import attention_implementation, register_varlen_sdpa
from evolcoder.train.tokenize import encode_records
from evolcoder.train.workdir import last_checkpoint


def configure_cpu_ranks() -> bool:
    """Give accelerate a process group for DeepSpeed ranks on the CPU; True if it did.

    Without this, two CPU ranks trip DeepSpeed's batch assertion (`train_batch_size` 4 !=
    4 x 1 x 2): for DeepSpeed, TrainingArguments builds accelerate's PartialState without a
    backend, accelerate finds no GPU-like device to pick one for, and "no backend" means one
    process, so `args.world_size` is 1. The Trainer then fills the config's "auto"
    train_batch_size with 1 x micro x accumulation while DeepSpeed counts 2 ranks, and it
    would not shard the data across ranks either. A PartialState configured here with gloo
    counts the real ranks; TrainingArguments reuses it (`use_configured_state`).
    """
    from accelerate import PartialState

    if torch.cuda.is_available():
        return False
    os.environ["ACCELERATE_USE_DEEPSPEED"] = "true"  # as TrainingArguments sets it for this call
    try:
        PartialState(backend="gloo")
    finally:
        del os.environ["ACCELERATE_USE_DEEPSPEED"]
    return True


def training_arguments(cfg: TrainConfig, runtime: TrainRuntime, run_dir: str | Path,
                       configured_state: bool) -> TrainingArguments:
    """The HF Trainer arguments of the recipe; creating them activates ZeRO-3 model loading."""
    return TrainingArguments(
        accelerator_config={"use_configured_state": configured_state},
        output_dir=str(run_dir),
        deepspeed=cfg.deepspeed_config,
        per_device_train_batch_size=cfg.per_device_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        learning_rate=cfg.lr,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_steps,
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps or -1,
        train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
        activation_checkpointing=cfg.gradient_checkpointing,
        bf16=cfg.precision == "bf16",
        fp16=cfg.precision == "fp16",
        seed=cfg.seed,
        logging_steps=runtime.logging_steps,
        save_strategy="steps",
        save_steps=runtime.save_steps,
        save_total_limit=runtime.save_total_limit,
        remove_unused_columns=False,
        report_to="none",
        dataloader_num_workers=0,
    )


def skip_shm_comm_build() -> None:
    """On the CPU, keep DeepSpeed from JIT-compiling its shared-memory comm op (minutes on first use).

    `deepspeed.comm` builds `deepspeed_shm_comm` whenever it starts on the CPU accelerator, but
    only `inference_all_reduce` (tensor-parallel inference) uses it; ZeRO training goes through
    torch.distributed (gloo). DeepSpeed keeps its op-compatibility table as a mutable dict, filled
    on first access by probing every op (compiler runs, GPU queries): on a GPU, neither is paid.
    """
    if torch.cuda.is_available():
        return
    import deepspeed.ops

    deepspeed.ops.__compatible_ops__["deepspeed_shm_comm"] = False


def check_world_size(cfg: TrainConfig, world_size: int) -> None:
    """The launcher started the ranks the batch was derived for; a hostfile with fewer hosts or
    slots would otherwise shrink the world, and the global batch with it, without a word."""
    if world_size != cfg.world_size:
        raise EvolcoderError(
            f"{world_size} rank(s) started, but the batch was derived for train.num_nodes x num_processes = "
            f"{cfg.num_nodes} x {cfg.num_processes} = {cfg.world_size} ranks ({cfg.per_device_batch_size} per "
            f"device x {cfg.gradient_accumulation_steps} accumulation steps): the global batch would be "
            f"{cfg.per_device_batch_size * cfg.gradient_accumulation_steps * world_size}, not "
            f"train.global_batch_size={cfg.global_batch_size}. Check that train.hostfile lists "
            f"{cfg.num_nodes} reachable host(s) with {cfg.num_processes} GPUs each")


def build_model(spec: dict[str, Any], cfg: TrainConfig,
                runtime: TrainRuntime) -> tuple[torch.nn.Module, PreTrainedTokenizerBase, str]:
    """The model to train (PAD token added; LoRA-wrapped for `adapter: lora`), its tokenizer
    and the attention implementation it runs."""
    attn = attention_implementation(cfg, runtime)
    if attn == VARLEN_SDPA:
        register_varlen_sdpa()
    model, tokenizer = load_pretrained(spec["model"], revision=spec.get("revision"), attn_implementation=attn)
    add_pad_token(model, tokenizer)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    if cfg.adapter == "lora":
        model = add_lora(model, cfg)
    return model, tokenizer, attn


def build_trainer(spec: dict[str, Any], cfg: TrainConfig, runtime: TrainRuntime,
                  args: TrainingArguments) -> tuple[Trainer, dict[str, Any]]:
    """The Trainer on the encoded data, and facts for the summary (parameters, rows dropped)."""
    model, tokenizer, attn = build_model(spec, cfg, runtime)
    examples, stats = encode_records(read_jsonl(spec["data"]), tokenizer, cfg.max_length)
    if not examples:
        raise EvolcoderError(f"{spec['data']}: no trainable rows (all {stats.rows} have prompts "
                             f"longer than train.max_length={cfg.max_length}); raise train.max_length")
    collator = packing_collator() if cfg.packing else PaddingCollator(pad_token_id=tokenizer.pad_token_id)
    tally = TokenTally()
    trainer = CountingTrainer(model=model, args=args, train_dataset=SupervisedDataset(examples),
                              data_collator=collator, processing_class=tokenizer, tally=tally,
                              callbacks=[CurveCallback(tally, spec["curves_dir"])])
    facts = {"n_params": count_parameters(model), "trainable_params": count_parameters(model, trainable_only=True),
             "attn_implementation": attn, "rows": stats.rows, "truncated_rows": stats.truncated_rows,
             "fully_masked_rows": stats.fully_masked_rows, "fully_masked_ids": stats.dropped_ids}
    return trainer, facts


def train(spec: dict[str, Any]) -> None:
    cfg = from_dict(TrainConfig, spec["train"], prefix="train")
    runtime = from_dict(TrainRuntime, spec["runtime"], prefix="runtime.train")
    check_attention(cfg, runtime)
    skip_shm_comm_build()
    args = training_arguments(cfg, runtime, spec["run_dir"], configure_cpu_ranks())
    check_world_size(cfg, args.world_size)
    trainer, facts = build_trainer(spec, cfg, runtime, args)
    resume = last_checkpoint(spec["run_dir"])
    start_step = int(resume.name.split("-")[1]) if resume else 0
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    elapsed = time.perf_counter() - started
    trainer.model.config.use_cache = True  # the Trainer turns the KV cache off; generation wants it
    # every rank: ZeRO-3 gathers the shards to save; an adapter is merged later, outside DeepSpeed
    trainer.save_model(str(Path(spec["output_dir"]) / ADAPTER_DIR) if cfg.adapter == "lora" else spec["output_dir"])
    if trainer.is_world_process_zero():
        if cfg.adapter == "none":
            write_legacy_rope_keys(spec["output_dir"])
        history = trainer.state.log_history
        session_tokens = sum(e.get("tokens", 0) for e in history if e.get("step", 0) > start_step)
        write_json(spec["summary"], summarize(history) | facts | {
            "steps": trainer.state.global_step,
            "resumed_from_step": start_step,
            "tokens_per_s": session_tokens / elapsed,
            "steady_tokens_per_s": steady_tokens_per_s(history, start_step),
            "world_size": args.world_size,
            "gradient_accumulation_steps": cfg.gradient_accumulation_steps,
            "peak_gpu_memory_mb": peak_gpu_memory_mb(),
        })


def peak_gpu_memory_mb() -> float | None:
    """This rank's peak allocated GPU memory (torch.cuda.max_memory_allocated); None on the CPU."""
    return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m evolcoder.train.worker SPEC.json", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        spec = json.load(f)
    try:
        train(spec)
    except EvolcoderError as e:  # the launcher reports the failed rank; the message says what to do
        print(f"train worker: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
