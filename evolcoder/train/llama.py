"""Llama-family bases (CodeLlama, deepseek-coder): a tiny Llama built from a config, with a
tokenizer that behaves like theirs, and RoPE settings every reader of the checkpoint gets.

The scratch tokenizer is a transformers `LlamaTokenizer` over a BPE trained on the training
set: SentencePiece-style word starts (`▁`), byte fallback for characters it never saw, `<unk>`
`<s>` `</s>` at ids 0-2 and the 256 byte tokens after them, a `<s>` before every text and no
PAD (training adds Llama-X's `[PAD]`, as for a pretrained Llama).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaTokenizer, PreTrainedTokenizerBase

from evolcoder.jsonl import write_json
from evolcoder.train.config import ScratchModelConfig

SPECIAL_TOKENS = ["<unk>", "<s>", "</s>"]  # Llama's ids 0, 1, 2
BYTE_TOKENS = [f"<0x{b:02X}>" for b in range(256)]  # byte fallback, Llama's ids 3-258


def train_llama_tokenizer(texts: Iterable[str], vocab_size: int, min_frequency: int) -> LlamaTokenizer:
    """A Llama tokenizer whose merges are learned from `texts`, `vocab_size` tokens with the byte tokens."""
    bpe = Tokenizer(models.BPE())
    # merges stay inside a word, as SentencePiece's do; the tokenizer itself does not split (transformers' Llama)
    bpe.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - len(BYTE_TOKENS), min_frequency=min_frequency,
                                  special_tokens=SPECIAL_TOKENS, show_progress=False)
    bpe.train_from_iterator(texts, trainer=trainer)
    learned = json.loads(bpe.to_str())["model"]
    ordered = sorted(learned["vocab"], key=learned["vocab"].get)  # the special tokens first
    tokens = list(dict.fromkeys(ordered[:len(SPECIAL_TOKENS)] + BYTE_TOKENS + ordered[len(SPECIAL_TOKENS):]))
    return LlamaTokenizer(vocab={token: i for i, token in enumerate(tokens)},
                          merges=[tuple(pair) for pair in learned["merges"]], add_bos_token=True)


def llama_config(cfg: ScratchModelConfig, tokenizer: PreTrainedTokenizerBase) -> LlamaConfig:
    """A Llama sized by `cfg`: its MLP 8/3 of the width (rounded up to a multiple of 64), untied
    embeddings, one key/value head with `multi_query`, RoPE with Llama's theta of 10,000."""
    return LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=cfg.n_embd, intermediate_size=64 * -(-8 * cfg.n_embd // (3 * 64)),
        num_hidden_layers=cfg.n_layer, num_attention_heads=cfg.n_head,
        num_key_value_heads=1 if cfg.multi_query else cfg.n_head, max_position_embeddings=cfg.n_positions,
        attention_dropout=cfg.dropout, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)


def write_legacy_rope_keys(model_dir: str | Path) -> None:
    """Write `rope_theta` and `rope_scaling` into a saved config.json beside `rope_parameters`.

    Transformers 5 saves a model's RoPE settings (CodeLlama's theta of 1e6, deepseek-coder's
    linear scaling by 4) as `rope_parameters` alone, which readers of the 4.x format
    (transformers 4, vLLM builds pinned to it) ignore, silently running with theta 10,000 and
    no scaling. Transformers 5 reads a config holding both. Configs without RoPE, or with one
    per layer type, are left as they are.
    """
    path = Path(model_dir) / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    rope = config.get("rope_parameters")
    if not isinstance(rope, dict) or "rope_theta" not in rope:
        return
    scaling = {key: value for key, value in rope.items() if key != "rope_theta"}
    config["rope_theta"] = rope["rope_theta"]
    config["rope_scaling"] = scaling if scaling.get("rope_type", "default") != "default" else None
    write_json(path, config)
