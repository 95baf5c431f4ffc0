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
import sys
from typing import Any

import torch

from evolcoder.errors import EvolcoderError
from evolcoder.train.config import VARLEN_SDPA, TrainConfig, TrainRuntime


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


def attention_implementation(cfg: TrainConfig, runtime: TrainRuntime) -> str:
    """The implementation `runtime.train.attn_implementation` names; for "auto": FlashAttention-2 for
    packed rows where it can run, else sdpa_varlen (with a warning when flash-attn is installed
    but cannot run); sdpa without packing. An explicit flash_attention_2 that cannot run is refused."""
    if runtime.attn_implementation == "flash_attention_2" and (problem := flash_attention_problem()):
        raise EvolcoderError(
            f"runtime.train.attn_implementation: flash_attention_2 cannot run here: {problem}; or set it to auto "
            f"({VARLEN_SDPA} with train.packing, sdpa without)")
    if runtime.attn_implementation != "auto":
        return runtime.attn_implementation
    if not cfg.packing:
        return "sdpa"
    if not torch.cuda.is_available():
        return VARLEN_SDPA
    if (problem := flash_attention_problem()) is None:
        return "flash_attention_2"
    if importlib.util.find_spec("flash_attn") is not None:  # installed, but broken: say so; absent: as chosen
        print(f"train: warning: flash-attn is installed but cannot run here: {problem}. Packed rows use "
              f"{VARLEN_SDPA} instead (exact, slower)", file=sys.stderr, flush=True)
    return VARLEN_SDPA


def flash_attention_problem() -> str | None:
    """Why FlashAttention-2 cannot run here and what would fix it, or None when it can.

    Transformers' own check first (a CUDA torch and flash-attn >= 2.3.3 installed), then the
    import of flash-attn's CUDA extension: a wheel built for another torch or CUDA is found and
    passes that check, and fails only there (an undefined symbol), after a model has loaded.
    Last the GPU: FlashAttention-2 runs on Ampere and newer (compute capability 8.0) only.
    """
    from transformers.utils import is_flash_attn_2_available

    build = f"torch {torch.__version__} and CUDA {torch.version.cuda}"
    if not is_flash_attn_2_available():
        return f"transformers finds no flash-attn >= 2.3.3 with a CUDA torch; install one built for {build}"
    try:
        importlib.import_module("flash_attn_2_cuda")
    except Exception as e:  # ImportError, OSError: whatever the loader says is the reason we report
        return (f"its CUDA extension flash_attn_2_cuda does not load ({type(e).__name__}: {e}); install a "
                f"flash-attn built for {build}")
    major, minor = torch.cuda.get_device_capability()
    if major < 8:
        return f"it runs on Ampere and newer GPUs (compute capability 8.0), this one is {major}.{minor}"
    return None
