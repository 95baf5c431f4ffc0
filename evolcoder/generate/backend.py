"""What a generation backend takes and gives back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Job:
    """One task to generate for: its id and the full prompt text."""

    task_id: str
    prompt: str


@dataclass(frozen=True)
class Completion:
    """One sample's response, trimmed at its stop sequence.

    `finish_reason` is 'stop' (EOS or a stop sequence) or 'length' (max_new_tokens reached);
    `n_tokens` counts the generated tokens up to and including the one that stopped it.
    `batch_shape` is the (rows, padded prompt width) of the batched call that produced it and
    `batch_size` the prompts per call in force then (None for a server, which batches itself):
    greedy text can depend on both.
    """

    text: str
    finish_reason: str
    n_tokens: int
    batch_shape: tuple[int, int] | None = None
    batch_size: int | None = None


class Backend(Protocol):
    """Generates `n_samples` completions for each job of a batch, in job order."""

    def generate(self, jobs: list[Job]) -> list[list[Completion]]: ...
