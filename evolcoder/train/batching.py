"""Batches for causal-LM fine-tuning: Llama-X's padding collator, padding-free packing, token counts."""

from __future__ import annotations

from dataclasses import dataclass

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


def token_counts(batch: dict[str, torch.Tensor | int]) -> tuple[int, int]:
    """(real, computed) tokens of a collated batch: padding is where attention_mask is 0; a
    packed row has no mask and no padding."""
    computed = batch["input_ids"].numel()
    mask = batch.get("attention_mask")
    return (int(mask.sum()) if mask is not None else computed), computed


@dataclass
class PaddingCollator:
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
        return {"input_ids": input_ids, "labels": labels, "attention_mask": attention_mask}


def packing_collator() -> DataCollatorWithFlattening:
    """The batch as one row without padding: transformers' DataCollatorWithFlattening.

    `position_ids` restart at 0 for each example, the first label of each is -100 (so no
    example learns to predict the next one's first token; ours are prompt tokens, masked
    anyway), and the boundaries go along as FlashAttention's `cu_seq_lens_q/k` and
    `max_length_q/k`, which GPTBigCode passes to its attention layers (see
    `evolcoder.train.packing`). There is no attention mask: nothing is padded.
    """
    return DataCollatorWithFlattening(return_flash_attn_kwargs=True)
