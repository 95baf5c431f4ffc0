"""Attention over packed rows: which implementation keeps the examples of a row apart.

A packed batch (`evolcoder.train.batching.packing_collator`) is one row holding several
examples, `position_ids` restarting at 0 for each and their boundaries as `cu_seq_lens_q/k`.
GPTBigCode consumes `position_ids` for its position embeddings and does not hand them to its
attention layers, so a kernel that finds the boundaries in `position_ids` (FlashAttention's
fallback) would see one long sequence; the `cu_seq_lens` keyword arguments do reach every
layer, and FlashAttention's varlen kernels and ours read them.

`sdpa_varlen` (ours) lays the examples of the row out as a batch, each padded at its end, and
runs torch's scaled-dot-product attention once with a plain causal mask: exact, one fused
kernel call per layer, attention work growing with the examples' lengths; transformers'
`sdpa` over a packed row instead builds a block-diagonal mask the size of the whole row and
attends over all of it. Only attention sees the padding: every other layer runs on the
packed tokens.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import torch

from evolcoder.train.config import VARLEN_SDPA, TrainConfig


def varlen_sdpa_attention(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                          attention_mask: torch.Tensor | None, cu_seq_lens_q: torch.Tensor | None = None,
                          max_length_q: int | None = None, **kwargs: Any) -> tuple[torch.Tensor, None]:
    """Causal SDPA over the examples of a packed row (query/key/value: 1, heads, tokens, dim).

    The examples are laid out as the rows of one batch, each padded at its end, for a single
    SDPA call with a plain causal mask: a token attends to the tokens before it in its own
    example and never reaches the padding after it, which only fills rows whose outputs are
    dropped. A row without `cu_seq_lens_q` is one example. Padded batches are refused: no mask
    reaches this function (see `register_varlen_sdpa`).
    """
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if query.shape[0] != 1:
        raise ValueError(f"attention {VARLEN_SDPA} takes packed batches (one row, "
                         f"evolcoder.train.batching.packing_collator), got {query.shape[0]} rows")
    tokens = query.shape[2]
    if cu_seq_lens_q is None:
        cu_seq_lens_q, max_length_q = torch.tensor([0, tokens], device=query.device), tokens
    slots = example_slots(cu_seq_lens_q, tokens, max_length_q)
    examples = len(cu_seq_lens_q) - 1
    q, k, v = (unpack(t, slots, examples, max_length_q) for t in (query, key, value))
    kwargs = {name: value for name, value in kwargs.items() if not name.startswith(("cu_seq_lens", "max_length"))}
    out = sdpa_attention_forward(module, q, k, v, None, is_causal=True, **kwargs)[0]  # examples, width, heads, dim
    return out.reshape(-1, *out.shape[2:]).index_select(0, slots).unsqueeze(0), None


def example_slots(cu_seq_lens: torch.Tensor, tokens: int, width: int) -> torch.Tensor:
    """For each token of the row, its index in the (examples x width) padded layout."""
    lengths = cu_seq_lens[1:] - cu_seq_lens[:-1]
    example = torch.repeat_interleave(torch.arange(len(lengths), device=cu_seq_lens.device), lengths,
                                      output_size=tokens)
    return example * width + torch.arange(tokens, device=cu_seq_lens.device) - cu_seq_lens[:-1][example]


def unpack(states: torch.Tensor, slots: torch.Tensor, examples: int, width: int) -> torch.Tensor:
    """(1, heads, tokens, dim) of a packed row -> (examples, heads, width, dim), zeros after each example.

    Laid out tokens-first in memory, as the model's own (batch, heads, tokens, dim) views are,
    so each token is one contiguous row to copy and SDPA gets the strides it usually does.
    """
    tokens_first = states[0].transpose(0, 1)  # tokens, heads, dim
    padded = tokens_first.new_zeros(examples * width, *tokens_first.shape[1:]).index_copy(0, slots, tokens_first)
    return padded.view(examples, width, *tokens_first.shape[1:]).transpose(1, 2)


def register_varlen_sdpa() -> None:
    """Make `sdpa_varlen` an attention implementation transformers models accept (idempotent).

    Its mask function returns None: the boundaries come from `cu_seq_lens`, so the
    block-diagonal mask transformers would otherwise build for the row is never needed.
    """
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(VARLEN_SDPA, varlen_sdpa_attention)
    AttentionMaskInterface.register(VARLEN_SDPA, lambda *args, **kwargs: None)


def attention_implementation(cfg: TrainConfig) -> str:
    """The implementation `train.attn_implementation` names; for "auto": FlashAttention-2 for
    packed rows on a GPU with the flash-attn package, else sdpa_varlen; sdpa without packing."""
    if cfg.attn_implementation != "auto":
        return cfg.attn_implementation
    if not cfg.packing:
        return "sdpa"
    if torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return VARLEN_SDPA
