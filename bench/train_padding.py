"""Padding efficiency and training tokens/s: random batches vs length-grouped batches.

On the real Code Alpaca 2k sample (or any JSON/JSONL of {instruction, input, output}), with
the default profile's tokenizer and tiny GPTBigCode model, one epoch of batches is built two
ways from the same tokenised rows: random order (the HF Trainer's default sampler, which
Llama-X/WizardCoder trained with, padded by Llama-X's collator) and `train.group_by_length`
(the Trainer's LengthGroupedSampler). Padding efficiency = real tokens / padded tokens over
the epoch; tokens/s = real tokens per second of forward + backward + AdamW step over --steps
batches spread evenly over each epoch (so both samples hold rows of every length), timed in
the same run. Target: grouped >= 90% efficient.

    python bench/train_padding.py [--data PATH] [--batch 8] [--steps 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import RandomSampler
from transformers.trainer_pt_utils import LengthGroupedSampler

from evolcoder.config import load_section
from evolcoder.jsonl import read_jsonl
from evolcoder.train.batching import PaddingCollator, SupervisedDataset
from evolcoder.train.config import ModelConfig, TrainConfig
from evolcoder.train.model import add_pad_token, build_scratch_model, train_tokenizer
from evolcoder.templates import example_texts
from evolcoder.train.tokenize import encode_records

REPO = Path(__file__).resolve().parent.parent
SHARED_SAMPLE = REPO.parent / "shared" / "data" / "code_alpaca_2k.json"
TARGET = 0.90


def load_rows(path: Path) -> list[dict]:
    return json.loads(path.read_text()) if path.suffix == ".json" else read_jsonl(path)


def batches(order: list[int], dataset: SupervisedDataset, size: int) -> list[list[dict]]:
    return [[dataset[i] for i in order[k:k + size]] for k in range(0, len(order), size)]


def efficiency(epoch: list[list[dict]], pad_id: int) -> float:
    collator = PaddingCollator(pad_token_id=pad_id)
    for batch in epoch:
        collator(batch)
    real, padded = collator.take_counts()
    return real / padded


def tokens_per_s(model: torch.nn.Module, epoch: list[list[dict]], pad_id: int, steps: int) -> float:
    collator = PaddingCollator(pad_token_id=pad_id)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    started = 0.0
    sample = epoch[::max(1, len(epoch) // (steps + 1))][:steps + 1]
    for i, batch in enumerate(sample):
        if i == 1:  # the first batch warms up and is not timed
            collator.take_counts()
            started = time.perf_counter()
        loss = model(**collator(batch)).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    elapsed = time.perf_counter() - started
    return collator.take_counts()[0] / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED_SAMPLE if SHARED_SAMPLE.is_file()
                        else REPO / "data/dataset/train.jsonl")
    parser.add_argument("--batch", type=int, default=8, help="rows per batch (one rank)")
    parser.add_argument("--steps", type=int, default=20, help="batches timed per order")
    args = parser.parse_args()
    if not args.data.is_file():
        print(f"no data at {args.data}: pass --data, or run `dvc repro dataset`", file=sys.stderr)
        return 1
    model_cfg = load_section(REPO / "params.yaml", "model", ModelConfig).config
    max_length = load_section(REPO / "params.yaml", "train", TrainConfig).max_length
    rows = load_rows(args.data)
    tokenizer = train_tokenizer((p + a for p, a in map(example_texts, rows)),
                                model_cfg.vocab_size, model_cfg.tokenizer_min_frequency)
    model = build_scratch_model(model_cfg, tokenizer, seed=0)
    add_pad_token(model, tokenizer)
    examples, _ = encode_records(rows, tokenizer, max_length)
    dataset = SupervisedDataset(examples)
    generator = torch.Generator().manual_seed(0)
    orders = {
        "random": list(RandomSampler(dataset, generator=generator)),
        "grouped": list(LengthGroupedSampler(args.batch, dataset=dataset, generator=generator)),
    }
    print(f"{len(examples)} rows of {args.data.name}, batch {args.batch}, max_length {max_length}, "
          f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f}M-parameter model")
    results = {}
    for name, order in orders.items():
        epoch = batches(order, dataset, args.batch)
        results[name] = (efficiency(epoch, tokenizer.pad_token_id),
                         tokens_per_s(model, epoch, tokenizer.pad_token_id, args.steps))
        print(f"{name:>8}: padding efficiency {results[name][0]:.1%}, {results[name][1]:,.0f} real tokens/s")
    grouped, random_ = results["grouped"], results["random"]
    print(f"grouped / random: efficiency x{grouped[0] / random_[0]:.2f}, tokens/s x{grouped[1] / random_[1]:.2f}; "
          f"target grouped >= {TARGET:.0%}: {'met' if grouped[0] >= TARGET else 'MISSED'}")
    return 0 if grouped[0] >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
