"""Models and tokenizers: a pretrained base (StarCoder, CodeLlama, deepseek-coder...) from the hub
or a folder, or a tiny GPTBigCode or Llama built from a config."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (AutoModelForCausalLM, GPTBigCodeConfig, PreTrainedModel, PreTrainedTokenizerBase,
                          PreTrainedTokenizerFast)

from evolcoder.errors import EvolcoderError
from evolcoder.train.config import ScratchModelConfig
from evolcoder.train.llama import llama_config, train_llama_tokenizer

EOS_TOKEN = "<|endoftext|>"
PAD_TOKEN = "[PAD]"  # Llama-X's DEFAULT_PAD_TOKEN
# StarCoder's first special tokens (its FIM and metadata markers), so ids line up in spirit.
SPECIAL_TOKENS = [EOS_TOKEN, "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>",
                  "<filename>", "<gh_stars>", "<issue_start>", "<issue_comment>", "<issue_closed>",
                  "<jupyter_start>", "<jupyter_text>", "<jupyter_code>", "<jupyter_output>",
                  "<empty_output>", "<commit_before>", "<commit_msg>", "<commit_after>", "<reponame>"]


class ModelLoadError(EvolcoderError):
    """A pretrained model or tokenizer could not be loaded; the message says what to do."""


def train_tokenizer(texts: Iterable[str], vocab_size: int, min_frequency: int,
                    architecture: str = "gpt_bigcode") -> PreTrainedTokenizerBase:
    """A BPE tokenizer trained on `texts`: byte-level like StarCoder's (EOS = BOS = UNK =
    <|endoftext|>, no BOS added, no PAD), or for `llama` like Llama's (evolcoder.train.llama)."""
    if architecture == "llama":
        return train_llama_tokenizer(texts, vocab_size, min_frequency)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=EOS_TOKEN, eos_token=EOS_TOKEN,
                                   unk_token=EOS_TOKEN, additional_special_tokens=SPECIAL_TOKENS[1:])


def build_scratch_model(cfg: ScratchModelConfig, tokenizer: PreTrainedTokenizerBase, seed: int) -> PreTrainedModel:
    """A randomly initialised model of `cfg.architecture` sized by `cfg`, deterministic for `seed`."""
    config = llama_config(cfg, tokenizer) if cfg.architecture == "llama" else GPTBigCodeConfig(
        vocab_size=len(tokenizer), n_positions=cfg.n_positions, n_embd=cfg.n_embd,
        n_layer=cfg.n_layer, n_head=cfg.n_head, multi_query=cfg.multi_query,
        embd_pdrop=cfg.dropout, attn_pdrop=cfg.dropout, resid_pdrop=cfg.dropout,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(config)


def load_pretrained(name_or_path: str, revision: str | None = None,
                    **kwargs) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """`from_pretrained` for a hub id (at `revision`) or local folder; a ModelLoadError saying what
    to do when it fails, whatever the failure."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, revision=revision, use_fast=True)
        model = AutoModelForCausalLM.from_pretrained(name_or_path, revision=revision, **kwargs)
    except Exception as e:  # a missing file, the hub, a broken attention kernel, a config this transformers lacks
        raise ModelLoadError(load_failure(name_or_path, kwargs.get("attn_implementation"), e)) from e
    return model, tokenizer


def load_failure(name_or_path: str, attn_implementation: str | None, error: Exception) -> str:
    """What went wrong loading `name_or_path`, and what would fix it."""
    import transformers

    where = "folder" if Path(name_or_path).exists() else "Hugging Face hub id"
    what = f"model.name_or_path: cannot load {where} {name_or_path!r} ({type(error).__name__}: {error}). "
    if attn_implementation and attn_implementation.startswith("flash_attention"):
        return what + (
            f"It was loaded with attn_implementation={attn_implementation}: install a flash-attn built for "
            f"torch {torch.__version__} (CUDA {torch.version.cuda}), or set runtime.train.attn_implementation: "
            "auto (sdpa_varlen with train.packing, sdpa without)")
    if isinstance(error, (OSError, ValueError)):  # not found, not reachable, gated, not a checkpoint
        return what + (
            "For a hub model, accept its licence on huggingface.co, run `huggingface-cli login`, "
            "and make sure this machine reaches the hub (or download it first with "
            f"`huggingface-cli download {name_or_path} --local-dir models/base` and set "
            "model.name_or_path: models/base); or set model.init: scratch to build a tiny model.")
    return what + (
        f"Check that it is a complete Hugging Face checkpoint (download it again) of an architecture "
        f"transformers {transformers.__version__} supports, or set model.init: scratch to build a tiny model.")


def add_pad_token(model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase) -> bool:
    """Add a PAD token when there is none, its embedding rows set to the mean of the tokens' rows.

    Llama-X's smart_tokenizer_and_embedding_resize, except that an embedding with more rows
    than the tokenizer has tokens (deepseek-coder: 32,256 rows for 32,022 tokens) is never
    shrunk: the PAD takes the first unused row. Under ZeRO-3 each rank's local tensor is an
    empty shard, so the embedding is gathered first. Returns whether it added one.
    """
    if tokenizer.pad_token is not None:
        return False
    n_tokens = len(tokenizer)
    tokenizer.add_special_tokens({"pad_token": PAD_TOKEN})
    if len(tokenizer) > model.config.vocab_size:
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    embeddings = [model.get_input_embeddings().weight, model.get_output_embeddings().weight]
    with _gathered(model, embeddings):
        for weight in {id(w): w for w in embeddings}.values():
            with torch.no_grad():
                weight[n_tokens:len(tokenizer)] = weight[:n_tokens].mean(dim=0, keepdim=True)
    model.config.pad_token_id = tokenizer.pad_token_id
    return True


def count_parameters(model: torch.nn.Module, trainable_only: bool = False) -> int:
    """Parameter count (or of those that train), also for a ZeRO-3-partitioned model (whose
    local tensors are empty)."""
    return sum(getattr(p, "ds_numel", p.numel()) for p in model.parameters()
               if p.requires_grad or not trainable_only)


def _zero3_params(model: torch.nn.Module) -> bool:
    return any(hasattr(p, "ds_id") for p in model.parameters())


def _gathered(model: torch.nn.Module, params: list[torch.nn.Parameter]) -> AbstractContextManager:
    if not _zero3_params(model):
        return nullcontext()
    import deepspeed

    return deepspeed.zero.GatheredParameters(params, modifier_rank=0)
