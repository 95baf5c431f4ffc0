"""Stop sequences: end each row of a batch at its first stop string or EOS, then trim."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import StoppingCriteria


class StopSequences(StoppingCriteria):
    """Per-row stop on EOS or on any of `stops` in the generated text.

    Records in `lengths[row]` how many new tokens the row had when it stopped (None while it
    runs), which gives each response's token count and finish reason. Only the last few
    tokens are decoded each step: enough to hold the longest stop string.
    """

    def __init__(self, tokenizer, stops: Sequence[str], prompt_length: int, batch_size: int, eos_token_id: int | None):
        self.tokenizer = tokenizer
        self.stops = list(stops)
        self.prompt_length = prompt_length
        self.eos_token_id = eos_token_id
        self.window = max((len(s) for s in self.stops), default=0) + 1
        self.lengths: list[int | None] = [None] * batch_size

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        n_new = input_ids.shape[1] - self.prompt_length
        for row, ids in enumerate(input_ids):
            if self.lengths[row] is None and self._stops(ids[self.prompt_length:]):
                self.lengths[row] = n_new
        return torch.tensor([n is not None for n in self.lengths], device=input_ids.device)

    def _stops(self, new_ids: torch.Tensor) -> bool:
        if self.eos_token_id is not None and int(new_ids[-1]) == self.eos_token_id:
            return True
        if not self.stops:
            return False
        tail = self.tokenizer.decode(new_ids[-self.window:], skip_special_tokens=True,
                                     clean_up_tokenization_spaces=False)
        return any(stop in tail for stop in self.stops)


def trim_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """`text` cut before its first stop string, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
