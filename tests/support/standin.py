"""A tiny random GPTBigCode checkpoint: the stand-in for a real model in tests and benchmarks,
where nothing can be downloaded. Its byte-level BPE tokenizer is trained on HumanEval's
prompts, so they tokenize to realistic lengths."""

from __future__ import annotations

from pathlib import Path

from evolcoder.benchmarks import get, load_benchmark
from evolcoder.train.config import ScratchModelConfig
from evolcoder.train.model import add_pad_token, build_scratch_model, train_tokenizer


def save_standin_checkpoint(folder: str | Path, config: ScratchModelConfig, seed: int = 0) -> Path:
    """Write a Hugging Face checkpoint (config, safetensors, tokenizer with PAD) to `folder`."""
    texts = [get("humaneval").prompt(p) for p in load_benchmark("humaneval")]
    tokenizer = train_tokenizer(texts, vocab_size=config.vocab_size, min_frequency=config.tokenizer_min_frequency)
    model = build_scratch_model(config, tokenizer, seed=seed)
    add_pad_token(model, tokenizer)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return Path(folder)
