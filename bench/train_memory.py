"""GPU memory of a ZeRO-3 fine-tune of a GPTBigCode (StarCoder) model, per GPU: the arithmetic.

The same numbers appear in docs/training.md ("Choosing hardware: memory arithmetic", printed by
`python -m bench.train_memory`) and size the GPU check's rows (bench/gpu_plan.py). In bytes, for
16-bit training (fp16 or bf16), T tokens per micro batch on one GPU, h the width, L layers, V the
vocabulary, P the parameters, N the ranks:

- model states: mixed-precision Adam keeps 16 bytes per trained parameter (16-bit weight and
  gradient, fp32 master weight and two moments), ZeRO-3 splits them over the N ranks; a frozen
  parameter (LoRA's base) keeps its 16-bit weight only. With `zero3_offload.json` all of it
  lives in CPU memory (18 bytes per parameter of the node's: the fp32 gradients too).
- gathered parameters: ZeRO-3 gathers each layer's full weights while it runs, at most
  `stage3_max_live_parameters` of them (1e9 in both configs), 2 bytes each; and the fp32 copy of
  one optimizer sub-group's gradients at the step (`sub_group_size`, not with offload).
- saved activations: 34 h bytes per token and layer (Korthikanti et al. 2022, without the
  attention-score term that SDPA and FlashAttention never store; transformers' GPTBigCode
  stores 30 h on its own, measured by tests/bench/test_train_memory.py, plus dropout masks and
  the key/value copies a padding mask makes); with activation checkpointing, each layer's
  input only: 2 h.
- the loss: 10 V bytes per token at once (16-bit logits, their fp32 copy that transformers'
  loss makes, and log-softmax's fp32 output, kept for the backward pass).
- with checkpointing, one block recomputed during the backward pass: its 34 h plus about
  10 h of gradients (the 4h-wide MLP's, in 16 bits, and the block input's).

The peak is the largest of three moments: the end of the forward pass (states, gathered
weights, saved activations, loss), a checkpointed block's backward (the recomputed block in
the loss's place) and the optimizer step (the fp32 gradient copy, activations freed). Not
counted: the CUDA context, NCCL's buffers and the allocator's fragmentation, which
`torch.cuda.max_memory_allocated` (the check's "peak MB") does not count either; `fits`
leaves them 10% of the card and 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

GB = 1e9
BYTES_16BIT = 2
TRAINED_PARAM_BYTES = 16  # 16-bit weight and gradient, fp32 master weight, Adam's two fp32 moments
OFFLOADED_PARAM_BYTES = 18  # in CPU memory with zero3_offload.json: the same, the gradient in fp32
ACTIVATION_BYTES_PER_WIDTH = 34  # per token and layer, times n_embd, without checkpointing
CHECKPOINT_BYTES_PER_WIDTH = 2  # a checkpointed layer's input, per token
RECOMPUTE_BYTES_PER_WIDTH = ACTIVATION_BYTES_PER_WIDTH + 10  # one block recomputed, with its gradients
LOSS_BYTES_PER_VOCAB = 2 + 4 + 4  # per token: 16-bit logits, fp32 logits, fp32 log-softmax
FP32_BYTES = 4
CARD_SHARE, CARD_RESERVE = 0.9, 1.5 * GB  # what `fits` leaves to the CUDA context, NCCL, fragmentation


@dataclass(frozen=True)
class ModelShape:
    """A GPTBigCode model's sizes (StarCoder's architecture: an MLP 4 x as wide, tied LM head)."""

    n_layer: int
    n_embd: int
    n_head: int
    vocab_size: int
    n_positions: int
    multi_query: bool = True

    @property
    def kv_width(self) -> int:
        return self.n_embd // self.n_head if self.multi_query else self.n_embd

    def linear_shapes(self) -> dict[str, list[tuple[int, int]]]:
        """(in, out) of each linear layer of one block, by module name as peft targets them."""
        h, kv = self.n_embd, self.kv_width
        return {"c_attn": [(h, h + 2 * kv)], "c_proj": [(h, h), (4 * h, h)], "c_fc": [(h, 4 * h)]}

    def layer_params(self) -> int:
        weights = sum(i * o + o for shapes in self.linear_shapes().values() for i, o in shapes)
        return weights + 4 * self.n_embd  # two layer norms

    def params(self) -> int:
        embeddings = (self.vocab_size + self.n_positions) * self.n_embd
        return self.n_layer * self.layer_params() + embeddings + 2 * self.n_embd  # and the final norm

    def lora_params(self, r: int, targets: list[str]) -> int:
        """Trainable parameters of rank-`r` adapters on every layer's `targets`."""
        shapes = self.linear_shapes()
        return self.n_layer * sum(r * (i + o) for name in targets for i, o in shapes[name])


# bigcode/starcoder's config.json: 40 layers, width 6144, 48 heads of 128 sharing one key/value
# head (multi-query), 8192 positions, 49,152 tokens; n_inner null, so the MLP is 4 x 6144 wide.
STARCODER_15B = ModelShape(n_layer=40, n_embd=6144, n_head=48, vocab_size=49152, n_positions=8192)


@dataclass(frozen=True)
class Setup:
    """How one GPU trains: tokens per micro batch (per_device_batch_size x max_length, or a packed
    row's length), ranks, checkpointing, offload, and LoRA's trainable parameters (0: full)."""

    tokens: int
    ranks: int = 1
    checkpointing: bool = True
    offload: bool = False
    lora_params: int = 0
    max_live_params: int = 10**9  # the DeepSpeed config's stage3_max_live_parameters
    sub_group_size: int = 10**9  # ... and sub_group_size


@dataclass(frozen=True)
class Estimate:
    """Bytes on one GPU at each part; `peak` combines them as the module docstring says."""

    model_states: float
    gathered: float
    step_buffer: float
    saved_activations: float
    loss: float
    recompute: float
    host_per_node: float  # CPU memory the offloaded states take on each node

    @property
    def peak(self) -> float:
        backward = self.saved_activations + max(self.loss, self.recompute)
        return self.model_states + max(self.gathered + backward, self.step_buffer)

    def parts(self) -> list[tuple[str, float]]:
        return [("model states", self.model_states), ("gathered weights", self.gathered),
                ("saved activations", self.saved_activations), ("loss", self.loss),
                ("recomputed block", self.recompute), ("fp32 gradients at the step", self.step_buffer)]


def estimate(shape: ModelShape, setup: Setup) -> Estimate:
    """The memory of one GPU training `shape` as `setup` says (bytes)."""
    total = shape.params()
    trained = setup.lora_params or total
    frozen = total if setup.lora_params else 0
    states = trained * TRAINED_PARAM_BYTES + frozen * BYTES_16BIT
    h, layers, t = shape.n_embd, shape.n_layer, setup.tokens
    per_layer = CHECKPOINT_BYTES_PER_WIDTH if setup.checkpointing else ACTIVATION_BYTES_PER_WIDTH
    return Estimate(
        model_states=0.0 if setup.offload else states / setup.ranks,
        gathered=min(setup.max_live_params, total) * BYTES_16BIT,
        step_buffer=0.0 if setup.offload else min(setup.sub_group_size, trained / setup.ranks) * FP32_BYTES,
        saved_activations=layers * per_layer * h * t,
        loss=LOSS_BYTES_PER_VOCAB * shape.vocab_size * t,
        recompute=RECOMPUTE_BYTES_PER_WIDTH * h * t if setup.checkpointing else 0.0,
        host_per_node=trained * OFFLOADED_PARAM_BYTES + frozen * BYTES_16BIT if setup.offload else 0.0,
    )


def usable(card_bytes: float) -> float:
    """What an estimate may fill of a card of `card_bytes` (nvidia-smi's memory.total)."""
    return CARD_SHARE * card_bytes - CARD_RESERVE


def fits(shape: ModelShape, setup: Setup, card_bytes: float) -> bool:
    return estimate(shape, setup).peak <= usable(card_bytes)


def largest_batch(shape: ModelShape, setup: Setup, length: int, most: int, card_bytes: float) -> int | None:
    """The largest per-device batch of `length`-token rows, a power of two up to `most`, that
    `fits` the card; None when not even one row does."""
    batch = most
    while batch >= 1:
        if fits(shape, replace(setup, tokens=batch * length), card_bytes):
            return batch
        batch //= 2
    return None


def zero3_limits(deepspeed_config: str | Path) -> dict[str, int]:
    """Setup's ZeRO-3 fields as a DeepSpeed config file sets them."""
    zero = json.loads(Path(deepspeed_config).read_text())["zero_optimization"]
    return {"max_live_params": int(zero["stage3_max_live_parameters"]), "sub_group_size": int(zero["sub_group_size"])}


STARCODER_LORA = STARCODER_15B.lora_params(16, ["c_attn", "c_proj", "c_fc"])  # the LoRA profile's adapters
STARCODER_SETUPS = {  # docs/training.md's table: the profiles' setups of StarCoder-15B; a packed row
    # holds the rank's whole micro batch (per_device_batch_size x max_length tokens)
    "8 GPUs, zero3.json, bf16, 16 x 2048 tokens, checkpointing": Setup(tokens=16 * 2048, ranks=8),
    "8 GPUs, zero3_offload.json, fp16, 16 x 2048 tokens, checkpointing": Setup(
        tokens=16 * 2048, ranks=8, offload=True),
    "8 GPUs, zero3.json, bf16, 16 x 2048 tokens, no checkpointing": Setup(
        tokens=16 * 2048, ranks=8, checkpointing=False),
    "8 GPUs, zero3.json, bf16, 4 x 2048 tokens, checkpointing": Setup(tokens=4 * 2048, ranks=8),
    "1 GPU, LoRA r=16, bf16, packed 4 x 2048 tokens (8,192-token rows), checkpointing": Setup(
        tokens=4 * 2048, lora_params=STARCODER_LORA),
    "1 GPU, LoRA r=16, bf16, packed 2 x 2048 tokens (4,096-token rows), checkpointing": Setup(
        tokens=2 * 2048, lora_params=STARCODER_LORA),
}


def table(shape: ModelShape, setups: dict[str, Setup]) -> str:
    """A Markdown table of each setup's parts and peak, in GB per GPU."""
    names = [name for name, _ in estimate(shape, next(iter(setups.values()))).parts()]
    lines = ["| setup | " + " | ".join(names) + " | peak | CPU memory per node |",
             "| --- |" + " ---: |" * (len(names) + 2)]
    for label, setup in setups.items():
        e = estimate(shape, setup)
        cells = [f"{value / GB:.1f}" for _, value in e.parts()] + [f"**{e.peak / GB:.1f}**",
                                                                  f"{e.host_per_node / GB:.0f}" if e.host_per_node else "-"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="StarCoder-15B's memory per GPU in the profiles' setups (GB)")
    parser.parse_args(argv)
    print(f"StarCoder-15B: {STARCODER_15B.params() / 1e9:.2f}B parameters, "
          f"LoRA r=16 on c_attn, c_proj, c_fc: {STARCODER_LORA / 1e6:.1f}M")
    print(table(STARCODER_15B, STARCODER_SETUPS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
