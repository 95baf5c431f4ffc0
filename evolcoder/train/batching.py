"""Batches for causal-LM fine-tuning: Llama-X's padding collator, and padding accounting."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.data import Dataset

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
class PaddingCollator:
    """Pad to the longest row of the batch (Llama-X's DataCollatorForSupervisedDataset).

    Counts the real and padded tokens it emits, for padding efficiency and tokens/s.
    """

    pad_token_id: int
    real_tokens: int = 0
    padded_tokens: int = 0

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

    def take_counts(self) -> tuple[int, int]:
        """(real, padded) tokens since the last call, and reset."""
        counts = (self.real_tokens, self.padded_tokens)
        self.real_tokens = self.padded_tokens = 0
        return counts
