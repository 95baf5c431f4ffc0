"""Batches for causal-LM fine-tuning: Llama-X's padding collator, padding-free packing, token counts."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.utils.data import Dataset
from transformers import DataCollatorWithFlattening

from evolcoder.train.tokenize import IGNORE_INDEX, Example


class SupervisedDataset(Dataset):
    """Encoded examples as the Trainer reads them (its length grouping reads `input_ids`)."""

    def __init__(self, examples: list[Example]):
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        return {"input_ids": self.examples[i].input_ids, "labels": self.examples[i].labels}


@dataclass
class TokenCounter:
    """The real and padded tokens a collator emitted, for padding efficiency and tokens/s."""

    real_tokens: int = field(default=0, init=False)
    padded_tokens: int = field(default=0, init=False)

    def take_counts(self) -> tuple[int, int]:
        """(real, padded) tokens since the last call, and reset."""
        counts = (self.real_tokens, self.padded_tokens)
        self.real_tokens = self.padded_tokens = 0
        return counts


@dataclass
class PaddingCollator(TokenCounter):
    """Pad to the longest row of the batch (Llama-X's DataCollatorForSupervisedDataset)."""

    pad_token_id: int

    def __call__(self, rows: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        width = max(len(r["input_ids"]) for r in rows)
        input_ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            n = len(row["input_ids"])
            input_ids[i, :n] = torch.tensor(row["input_ids"])
            labels[i, :n] = torch.tensor(row["labels"])
            attention_mask[i, :n] = 1
        self.real_tokens += int(attention_mask.sum())
        self.padded_tokens += input_ids.numel()
        return {"input_ids": input_ids, "labels": labels, "attention_mask": attention_mask}


@dataclass
class PackingCollator(TokenCounter):
    """The batch as one row without padding: transformers' DataCollatorWithFlattening.

    `position_ids` restart at 0 for each example, the first label of each is -100 (so no
    example learns to predict the next one's first token; ours are prompt tokens, masked
    anyway), and the boundaries go along as FlashAttention's `cu_seq_lens_q/k` and
    `max_length_q/k`, which GPTBigCode passes to its attention layers (see
    `evolcoder.train.packing`). There is no attention mask: nothing is padded.
    """

    flatten: DataCollatorWithFlattening = field(
        default_factory=lambda: DataCollatorWithFlattening(return_flash_attn_kwargs=True))

    def __call__(self, rows: list[dict[str, list[int]]]) -> dict[str, torch.Tensor | int]:
        batch = self.flatten(rows)
        tokens = batch["input_ids"].numel()
        self.real_tokens += tokens
        self.padded_tokens += tokens
        return batch
