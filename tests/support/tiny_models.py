"""Tiny random Llama-family checkpoints standing in for a pretrained base (`model.init: pretrained`
from a folder), where nothing can be downloaded: CodeLlama's or deepseek-coder's RoPE settings,
written to config.json as the hub has them (transformers 4's `rope_theta` and `rope_scaling`)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from evolcoder.benchmarks import get, load_benchmark
from evolcoder.train.model import train_tokenizer

# RoPE as the bases' config.json files set it (CodeLlama-*-Python-hf; deepseek-coder-33b-base)
ROPE = {
    "codellama": {"rope_theta": 1000000.0, "rope_scaling": None},
    "deepseek": {"rope_theta": 100000.0, "rope_scaling": {"type": "linear", "factor": 4.0}},
}


def save_tiny_llama(folder: str | Path, rope: str, seed: int = 0) -> Path:
    """A random 2-layer Llama with a Llama tokenizer (adds <s>, EOS </s>, no PAD) trained on
    HumanEval's prompts. Like deepseek-coder's (32,256 rows for 32,022 tokens), the "deepseek"
    embedding has unused rows: the vocabulary rounded up to a multiple of 64."""
    texts = [get("humaneval").prompt(p) for p in load_benchmark("humaneval")]
    tokenizer = train_tokenizer(texts, vocab_size=400, min_frequency=1, architecture="llama")
    rows = -(-len(tokenizer) // 64) * 64 if rope == "deepseek" else len(tokenizer)
    config = LlamaConfig(vocab_size=rows, hidden_size=64, intermediate_size=192, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         **copy.deepcopy(ROPE[rope]))  # transformers fills the dicts it is given
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    path = Path(folder) / "config.json"
    saved = json.loads(path.read_text())
    del saved["rope_parameters"]
    path.write_text(json.dumps(saved | ROPE[rope], indent=2))
    return Path(folder)
