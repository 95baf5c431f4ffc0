"""The `model` and `train` params: typed, coerced and range-checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

from evolcoder.config import check

# StarCoder's attention (c_attn, c_proj) and MLP (c_fc, c_proj) projections.
STARCODER_LORA_TARGETS = ("c_attn", "c_proj", "c_fc")
# Attention implementations that keep the examples of a packed row apart, each checked for
# GPTBigCode: ours and FlashAttention read the boundaries (cu_seq_lens) the packing collator
# sends; transformers' sdpa and eager build a block-diagonal mask from the restarting
# position_ids (correct, but the mask spans the whole row). Others, such as the paged ones
# of continuous batching ('paged|eager' lets examples attend to each other), are refused.
VARLEN_SDPA = "sdpa_varlen"
PACKING_ATTENTION = (VARLEN_SDPA, "flash_attention_2", "flash_attention_3", "sdpa", "eager")


@dataclass
class ScratchModelConfig:
    """A GPTBigCode model (StarCoder's architecture) built from a config, not downloaded."""

    n_layer: int = 3
    n_embd: int = 192
    n_head: int = 4
    n_positions: int = 512
    multi_query: bool = True
    dropout: float = 0.0  # embedding, attention and residual dropout (StarCoder: 0.1)
    vocab_size: int = 2048  # of the byte-level BPE tokenizer trained on the training set
    tokenizer_min_frequency: int = 2

    def __post_init__(self) -> None:
        for name in ("n_layer", "n_embd", "n_head", "n_positions"):
            check(getattr(self, name) > 0, f"model.config.{name}", "must be positive")
        check(self.n_embd % self.n_head == 0, "model.config.n_embd",
              f"{self.n_embd} is not divisible by n_head={self.n_head}")
        # 19 = len(evolcoder.train.model.SPECIAL_TOKENS), StarCoder's special tokens
        check(self.vocab_size > 256 + 19, "model.config.vocab_size",
              "must exceed the 256 byte symbols plus the 19 special tokens")
        check(0.0 <= self.dropout < 1.0, "model.config.dropout", "must be in [0, 1)")
        check(self.tokenizer_min_frequency >= 1, "model.config.tokenizer_min_frequency", "must be >= 1")


@dataclass
class ModelConfig:
    """`init: pretrained` loads `name_or_path` (hub id at `revision`, or a folder); `init: scratch`
    builds `config`."""

    init: Literal["pretrained", "scratch"] = "scratch"
    name_or_path: str | None = None
    revision: str | None = None  # the commit of a hub model: its branch moves, a commit does not
    config: ScratchModelConfig = field(default_factory=ScratchModelConfig)

    def __post_init__(self) -> None:
        check(self.init == "scratch" or bool(self.name_or_path), "model.name_or_path",
              "required when model.init is 'pretrained' (e.g. bigcode/starcoder)")

    def pretrained_source(self, needed_by: str) -> tuple[str, str | None]:
        """(name_or_path, revision) of the pretrained model; a ConfigError naming `needed_by` when the
        model is built from scratch, or when a hub model has no pinned revision."""
        check(self.init == "pretrained" and bool(self.name_or_path), needed_by,
              "needs model.init: pretrained with model.name_or_path (a scratch model's tokenizer is trained "
              "on the training set itself)")
        if Path(self.name_or_path).exists():
            return self.name_or_path, None
        check(bool(self.revision), "model.revision",
              f"{self.name_or_path} is a hub model: pin it to a commit so that every run loads the same "
              f"weights (`python -c \"from huggingface_hub import model_info; print(model_info('{self.name_or_path}')"
              ".sha)\"`, or the model page's 'Files and versions' history)")
        return self.name_or_path, self.revision


@dataclass
class TrainConfig:
    """The fine-tuning recipe. global_batch_size = per_device_batch_size x accumulation x ranks.

    `RUNTIME` fields (params: `runtime.train`) decide where checkpoints go and how often, which
    address the ranks meet at (`master_addr`) and which kernel computes attention
    (`attn_implementation`), not what is learned; they are left out of the run key, so changing
    one keeps resume state.
    """

    RUNTIME: ClassVar[tuple[str, ...]] = ("logging_steps", "save_steps", "save_total_limit", "work_dir",
                                          "master_addr", "attn_implementation")

    deepspeed_config: str = "configs/deepspeed/zero3.json"
    num_processes: int = 1  # ranks per node
    num_nodes: int = 1
    hostfile: str | None = None  # DeepSpeed hostfile for multi-node runs
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    global_batch_size: int = 8
    per_device_batch_size: int = 8
    lr: float = 2e-3
    lr_scheduler: Literal["cosine", "linear", "constant_with_warmup"] = "cosine"
    warmup_steps: int = 10
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    epochs: float = 3.0
    max_steps: int | None = None  # overrides epochs when set
    max_length: int = 512
    group_by_length: bool = True
    packing: bool = False  # each rank's batch as one row without padding, position_ids restarting per example
    adapter: Literal["none", "lora"] = "none"  # lora: train low-rank adapters (peft), merged into the saved model
    lora_r: int = 16
    lora_alpha: float = 32.0
    lora_dropout: float = 0.05
    lora_target_modules: list[str] = field(default_factory=lambda: list(STARCODER_LORA_TARGETS))
    gradient_checkpointing: bool = False
    seed: int = 42
    # a run folder (or <run>/checkpoint-<step>) under runtime.train.work_dir whose checkpoint this
    # run starts from when only the training code differs (evolcoder.train.workdir.continue_run)
    continue_from: str | None = None
    logging_steps: int = 1
    save_steps: int = 25
    save_total_limit: int = 2
    work_dir: str = ".work/train"  # resumable checkpoints, keyed by run; never committed
    master_addr: str | None = None  # rank 0's address on the network the nodes share; None: DeepSpeed's guess
    # "auto": sdpa_varlen (ours) with packing, transformers' sdpa without; or a transformers name
    attn_implementation: str = "auto"

    def __post_init__(self) -> None:
        positive = ("num_processes", "num_nodes", "global_batch_size", "per_device_batch_size",
                    "max_length", "logging_steps", "save_steps", "save_total_limit")
        for name in positive:
            check(getattr(self, name) > 0, f"train.{name}", f"must be positive, got {getattr(self, name)}")
        check(self.lr > 0, "train.lr", f"must be positive, got {self.lr}")
        check(self.warmup_steps >= 0, "train.warmup_steps", "must be >= 0")
        check(self.weight_decay >= 0, "train.weight_decay", "must be >= 0")
        check(self.max_grad_norm > 0, "train.max_grad_norm", "must be positive")
        check(self.epochs > 0, "train.epochs", f"must be positive, got {self.epochs}")
        check(self.max_steps is None or self.max_steps > 0, "train.max_steps", "must be positive or null")
        per_step = self.per_device_batch_size * self.world_size
        check(self.global_batch_size % per_step == 0, "train.global_batch_size",
              f"{self.global_batch_size} is not divisible by per_device_batch_size x ranks = "
              f"{self.per_device_batch_size} x {self.world_size} = {per_step}; "
              "change one of train.global_batch_size, per_device_batch_size, num_processes, num_nodes")
        check(self.master_addr is None or bool(self.master_addr.strip()), "train.master_addr",
              "must be an address (the first host's, on the network the nodes share) or null")
        check(self.continue_from is None or bool(self.continue_from.strip()), "train.continue_from",
              "must name a run folder under runtime.train.work_dir (or <run>/checkpoint-<step>), or be null")
        check(self.num_nodes == 1 or self.hostfile is not None, "train.hostfile",
              f"num_nodes={self.num_nodes} needs a DeepSpeed hostfile (lines 'host slots=N')")
        self._check_lora()
        self._check_attention()

    def _check_lora(self) -> None:
        check(self.lora_r > 0, "train.lora_r", f"must be positive, got {self.lora_r}")
        check(self.lora_alpha > 0, "train.lora_alpha", f"must be positive, got {self.lora_alpha}")
        check(0.0 <= self.lora_dropout < 1.0, "train.lora_dropout", f"must be in [0, 1), got {self.lora_dropout}")
        check(bool(self.lora_target_modules) and all(self.lora_target_modules), "train.lora_target_modules",
              f"must name at least one module (StarCoder's: {', '.join(STARCODER_LORA_TARGETS)})")

    def _check_attention(self) -> None:
        attn = self.attn_implementation
        check(not self.packing or attn == "auto" or attn in PACKING_ATTENTION, "train.packing",
              f"attention implementation {attn!r} (runtime.train.attn_implementation) cannot keep packed "
              f"examples apart; use one of: auto, {', '.join(PACKING_ATTENTION)}, or set train.packing: false")
        check(attn != VARLEN_SDPA or self.packing, "runtime.train.attn_implementation",
              f"{VARLEN_SDPA} attends within the examples of a packed row and needs train.packing: true")

    @property
    def world_size(self) -> int:
        return self.num_processes * self.num_nodes

    @property
    def gradient_accumulation_steps(self) -> int:
        return self.global_batch_size // (self.per_device_batch_size * self.world_size)
