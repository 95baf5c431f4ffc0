"""Training tokens/s and padding: random batches, length-grouped batches, packed rows.

On the real Code Alpaca 2k sample (or any JSON/JSONL of {instruction, input, output}), with
the default profile's tokenizer and tiny GPTBigCode model, one epoch of batches is built from
the same tokenised rows three ways:

- random: random order (the HF Trainer's default sampler, which Llama-X/WizardCoder trained
  with), padded to the longest row by Llama-X's collator, transformers' sdpa attention;
- grouped: `train.group_by_length` (the Trainer's LengthGroupedSampler), padded, sdpa;
- packed: `train.packing` on the grouped batches, so the very same examples per step: each
  batch one row without padding, attention `sdpa_varlen` (what `auto` picks on the CPU).

Padding efficiency = real tokens / tokens computed over the epoch. Tokens/s = real tokens per
second of forward + backward + AdamW step over --steps batches spread evenly over the epoch
(so every sample holds rows of every length); each figure is the best of --repeats runs taken
in turns, so that load from other processes skews it less. Targets: grouped >= 90% efficient,
packed >= 1.2x grouped tokens/s.

    python -m bench.train_packing [--data PATH] [--batch 8] [--steps 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import RandomSampler
from transformers.trainer_pt_utils import LengthGroupedSampler

from evolcoder.config import load_section
from evolcoder.files.paths import TRAIN_SET
from evolcoder.seed.seed import read_file_rows
from evolcoder.templates import example_texts
from evolcoder.train.batching import PaddingCollator, SupervisedDataset, packing_collator, token_counts
from evolcoder.train.config import VARLEN_SDPA, ModelConfig, TrainConfig
from evolcoder.train.model import add_pad_token, build_scratch_model, train_tokenizer
from evolcoder.train.packing import register_varlen_sdpa
from evolcoder.train.tokenize import encode_records
from tests.support.data import SHARED_DATA

REPO = Path(__file__).resolve().parent.parent
SHARED_SAMPLE = SHARED_DATA / "code_alpaca_2k.json"
EFFICIENCY_TARGET = 0.90
SPEEDUP_TARGET = 1.2


def batches(order: list[int], dataset: SupervisedDataset, size: int) -> list[list[dict]]:
    return [[dataset[i] for i in order[k:k + size]] for k in range(0, len(order), size)]


def efficiency(epoch: list[list[dict]], collator: Callable) -> float:
    real, computed = map(sum, zip(*(token_counts(collator(batch)) for batch in epoch)))
    return real / computed


def tokens_per_s(model: torch.nn.Module, epoch: list[list[dict]], collator: Callable, steps: int) -> float:
    """Real tokens per second of training steps on `steps` batches spread over the epoch."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    sample = epoch[::max(1, len(epoch) // (steps + 1))][:steps + 1]
    started, real = 0.0, 0
    for i, rows in enumerate(sample):
        if i == 1:  # the first batch warms up and is not timed
            started, real = time.perf_counter(), 0
        batch = collator(rows)
        real += token_counts(batch)[0]
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return real / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED_SAMPLE if SHARED_SAMPLE.is_file()
                        else REPO / TRAIN_SET)
    parser.add_argument("--batch", type=int, default=8, help="rows per batch (one rank)")
    parser.add_argument("--steps", type=int, default=20, help="batches timed per order and run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per way; the best counts")
    args = parser.parse_args()
    if not args.data.is_file():
        print(f"no data at {args.data}: pass --data, or run `dvc repro dataset`", file=sys.stderr)
        return 1
    model_cfg = load_section(REPO / "params.yaml", "model", ModelConfig).config
    max_length = load_section(REPO / "params.yaml", "train", TrainConfig).max_length
    rows = [row.value for row in read_file_rows(args.data)]
    tokenizer = train_tokenizer((p + a for p, a in map(example_texts, rows)),
                                model_cfg.vocab_size, model_cfg.tokenizer_min_frequency)
    model = build_scratch_model(model_cfg, tokenizer, seed=0)
    add_pad_token(model, tokenizer)
    model.config.use_cache = False  # as the Trainer trains
    register_varlen_sdpa()
    examples, _ = encode_records(rows, tokenizer, max_length)
    dataset = SupervisedDataset(examples)
    generator = torch.Generator().manual_seed(0)
    random_order = list(RandomSampler(dataset, generator=generator))
    grouped_order = list(LengthGroupedSampler(args.batch, dataset=dataset, generator=generator))
    pad = tokenizer.pad_token_id
    ways = {  # name: (epoch of batches, collator, attention implementation)
        "random": (batches(random_order, dataset, args.batch), PaddingCollator(pad_token_id=pad), "sdpa"),
        "grouped": (batches(grouped_order, dataset, args.batch), PaddingCollator(pad_token_id=pad), "sdpa"),
        "packed": (batches(grouped_order, dataset, args.batch), packing_collator(), VARLEN_SDPA),
    }
    print(f"{len(examples)} rows of {args.data.name}, batch {args.batch}, max_length {max_length}, "
          f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f}M-parameter model, "
          f"{torch.get_num_threads()} threads, best of {args.repeats}")
    speed = {name: 0.0 for name in ways}
    for _ in range(args.repeats):
        for name, (epoch, collator, attn) in ways.items():
            model.set_attn_implementation(attn)
            speed[name] = max(speed[name], tokens_per_s(model, epoch, collator, args.steps))
    efficient = {name: efficiency(epoch, collator) for name, (epoch, collator, _) in ways.items()}
    for name, (_, _, attn) in ways.items():
        print(f"{name:>8}: padding efficiency {efficient[name]:6.1%}, {speed[name]:8,.0f} real tokens/s  ({attn})")
    grouped_efficiency = efficient["grouped"]
    speedup = speed["packed"] / speed["grouped"]
    speed_met, efficiency_met = speedup >= SPEEDUP_TARGET, grouped_efficiency >= EFFICIENCY_TARGET
    verdict = {True: "met", False: "MISSED"}
    print(f"packed / grouped: x{speedup:.2f} (target >= {SPEEDUP_TARGET}: {verdict[speed_met]}); packed / random: "
          f"x{speed['packed'] / speed['random']:.2f}; grouped / random: x{speed['grouped'] / speed['random']:.2f}; "
          f"grouped efficiency {grouped_efficiency:.1%} (target >= {EFFICIENCY_TARGET:.0%}: {verdict[efficiency_met]})")
    met = speed_met and efficiency_met
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
