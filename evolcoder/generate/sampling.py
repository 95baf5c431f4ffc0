"""Reproducible sampling: each (task, sample) draws from its own seeded generator.

`transformers` samples a whole batch from torch's global generator, so a row's tokens would
depend on which rows share its batch, on the batch size and on the shard plan. Instead,
`SeededSampler` is the last logits processor of a greedy `generate` call: it applies
temperature and top-p, draws one token per row from that row's own `torch.Generator`, and
leaves only that token with a finite score, so greedy search picks it. A row's draws
depend on its seed and its own logits alone; what remains is the float noise of batched
kernels (padding changes the shapes of the matrix products), which torch does not make
bit-identical across batch shapes.
"""

from __future__ import annotations

import hashlib

import torch
from transformers import LogitsProcessor


def sample_seed(base_seed: int, task_id: str, sample: int) -> int:
    """A 63-bit seed for one sample of one task, stable across runs, batches and shards."""
    digest = hashlib.sha256(f"{base_seed}\0{task_id}\0{sample}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class SeededSampler(LogitsProcessor):
    """Temperature + top-p sampling with one generator per batch row."""

    def __init__(self, seeds: list[int], temperature: float, top_p: float, device: torch.device | str = "cpu"):
        self.temperature = temperature
        self.top_p = top_p
        self.generators = [torch.Generator(device=device).manual_seed(s) for s in seeds]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if scores.shape[0] != len(self.generators):
            raise ValueError(f"SeededSampler has {len(self.generators)} seeds for a batch of {scores.shape[0]}")
        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        chosen = torch.stack([
            torch.multinomial(top_p_filter(row, self.top_p), 1, generator=gen).squeeze(0)
            for row, gen in zip(probs, self.generators)
        ])
        out = torch.full_like(scores, float("-inf"))
        out.scatter_(1, chosen.unsqueeze(1), 0.0)
        return out


def top_p_filter(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """`probs` with everything outside the smallest set of mass >= top_p set to zero."""
    if top_p >= 1.0:
        return probs
    sorted_probs, order = torch.sort(probs, descending=True)
    mass_before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs
    sorted_probs[mass_before >= top_p] = 0.0
    return torch.zeros_like(probs).scatter_(-1, order, sorted_probs)
