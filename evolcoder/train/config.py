"""The `model` and `train` params: typed, coerced and range-checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from evolcoder.config import check
from evolcoder.pretrained import pretrained_source

# What a scratch tokenizer's vocabulary cannot do without, per architecture: 256 byte symbols
# (GPTBigCode's byte-level alphabet, Llama's byte-fallback tokens) and the special tokens
# (StarCoder's 19; Llama's <unk>, <s>, </s>), as evolcoder.train.model and .llama build them.
BASE_VOCAB = {"gpt_bigcode": 256 + 19, "llama": 256 + 3}
# Attention implementations that keep the examples of a packed row apart, each checked for
# GPTBigCode and Llama: ours and FlashAttention read the boundaries (cu_seq_lens) the packing collator
# sends; transformers' sdpa and eager build a block-diagonal mask from the restarting
# position_ids (correct, but the mask spans the whole row). Others, such as the paged ones
# of continuous batching ('paged|eager' lets examples attend to each other), are refused.
VARLEN_SDPA = "sdpa_varlen"
PACKING_ATTENTION = (VARLEN_SDPA, "flash_attention_2", "flash_attention_3", "sdpa", "eager")


@dataclass
class ScratchModelConfig:
    """A model built from a config, not downloaded: GPTBigCode (StarCoder's architecture) or Llama
    (CodeLlama's and deepseek-coder's), with a tokenizer trained on the training set."""

    architecture: Literal["gpt_bigcode", "llama"] = "gpt_bigcode"
    n_layer: int = 3
    n_embd: int = 192
    n_head: int = 4
    n_positions: int = 512
    multi_query: bool = True  # one key/value head for all query heads (Llama: num_key_value_heads 1)
    dropout: float = 0.0  # embedding, attention and residual dropout (StarCoder: 0.1); Llama's attention only
    vocab_size: int = 2048  # of the BPE tokenizer trained on the training set
    tokenizer_min_frequency: int = 2

    def __post_init__(self) -> None:
        for name in ("n_layer", "n_embd", "n_head", "n_positions"):
            check(getattr(self, name) > 0, f"model.config.{name}", "must be positive")
        check(self.n_embd % self.n_head == 0, "model.config.n_embd",
              f"{self.n_embd} is not divisible by n_head={self.n_head}")
        base = BASE_VOCAB[self.architecture]
        check(self.vocab_size > base, "model.config.vocab_size",
              f"must exceed the 256 byte symbols plus the {base - 256} special tokens of {self.architecture}")
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
        """(name_or_path, revision) of the pretrained model (see `evolcoder.pretrained`)."""
        return pretrained_source(self.init, self.name_or_path, self.revision, needed_by)


@dataclass
class TrainConfig:
    """The fine-tuning recipe. global_batch_size = per_device_batch_size x accumulation x ranks."""

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
    # auto: chosen by the model's architecture (evolcoder.train.adapters.LORA_TARGETS); or module names
    lora_target_modules: str | list[str] = "auto"
    gradient_checkpointing: bool = False
    seed: int = 42
    # a run folder (or <run>/checkpoint-<step>) under runtime.train.work_dir whose checkpoint this
    # run starts from when only the training code differs (evolcoder.train.workdir.continue_run)
    continue_from: str | None = None

    def __post_init__(self) -> None:
        positive = ("num_processes", "num_nodes", "global_batch_size", "per_device_batch_size", "max_length")
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
        check(self.continue_from is None or bool(self.continue_from.strip()), "train.continue_from",
              "must name a run folder under runtime.train.work_dir (or <run>/checkpoint-<step>), or be null")
        check(self.num_nodes == 1 or self.hostfile is not None, "train.hostfile",
              f"num_nodes={self.num_nodes} needs a DeepSpeed hostfile (lines 'host slots=N')")
        self._check_lora()

    def _check_lora(self) -> None:
        check(self.lora_r > 0, "train.lora_r", f"must be positive, got {self.lora_r}")
        check(self.lora_alpha > 0, "train.lora_alpha", f"must be positive, got {self.lora_alpha}")
        check(0.0 <= self.lora_dropout < 1.0, "train.lora_dropout", f"must be in [0, 1), got {self.lora_dropout}")
        targets = self.lora_target_modules
        valid = targets == "auto" if isinstance(targets, str) else bool(targets) and all(targets)
        check(valid, "train.lora_target_modules", "must be auto (the attention and MLP projections of the model's "
              "architecture) or name at least one module (StarCoder's: c_attn, c_proj, c_fc)")

    @property
    def world_size(self) -> int:
        return self.num_processes * self.num_nodes

    @property
    def gradient_accumulation_steps(self) -> int:
        return self.global_batch_size // (self.per_device_batch_size * self.world_size)


@dataclass(frozen=True)
class TrainRuntime:
    """How a run is kept and run, not what it learns (params: `runtime.train`); left out of the run
    key, so changing one keeps resume state.

    `work_dir` holds the resumable checkpoints, keyed by run (never committed), saved every
    `save_steps` steps, the last `save_total_limit` kept. `master_addr` is rank 0's address on the
    network the nodes share (null: DeepSpeed's guess). `attn_implementation` is the kernel that
    computes attention: "auto" (sdpa_varlen, ours, with packing; transformers' sdpa without) or a
    transformers name.
    """

    logging_steps: int = 1
    save_steps: int = 25
    save_total_limit: int = 2
    work_dir: str = ".work/train"
    master_addr: str | None = None
    attn_implementation: str = "auto"

    def __post_init__(self) -> None:
        for name in ("logging_steps", "save_steps", "save_total_limit"):
            check(getattr(self, name) > 0, f"runtime.train.{name}", f"must be positive, got {getattr(self, name)}")
        check(self.master_addr is None or bool(self.master_addr.strip()), "runtime.train.master_addr",
              "must be an address (the first host's, on the network the nodes share) or null")


def check_attention(train: TrainConfig, runtime: TrainRuntime) -> None:
    """Refuse an attention implementation that cannot run the recipe's (packed or padded) rows."""
    attn = runtime.attn_implementation
    check(not train.packing or attn == "auto" or attn in PACKING_ATTENTION, "train.packing",
          f"attention implementation {attn!r} (runtime.train.attn_implementation) cannot keep packed "
          f"examples apart; use one of: auto, {', '.join(PACKING_ATTENTION)}, or set train.packing: false")
    check(attn != VARLEN_SDPA or train.packing, "runtime.train.attn_implementation",
          f"{VARLEN_SDPA} attends within the examples of a packed row and needs train.packing: true")
