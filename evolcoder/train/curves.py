"""Per-step training curves: token counts in the Trainer's log, loss and lr through DVCLive."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from transformers import Trainer, TrainerCallback

from evolcoder.train.batching import token_counts


class TokenTally:
    """Real and computed (padded) tokens of the batches trained on since the last `take`."""

    def __init__(self) -> None:
        self.real = self.computed = 0

    def add(self, batch: dict[str, Any]) -> None:
        real, computed = token_counts(batch)
        self.real += real
        self.computed += computed

    def take(self) -> tuple[int, int]:
        counts = (self.real, self.computed)
        self.real = self.computed = 0
        return counts


class CountingTrainer(Trainer):
    """The HF Trainer, counting the tokens of each batch it trains on into `tally`.

    Counted here rather than in the collator: a resumed run's data loader collates the
    batches it skips to reach its checkpoint's place, and those were trained before the kill.
    """

    def __init__(self, *args: Any, tally: TokenTally, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.tally = tally

    def training_step(self, model, inputs, num_items_in_batch=None):
        self.tally.add(inputs)
        return super().training_step(model, inputs, num_items_in_batch)


class CurveCallback(TrainerCallback):
    """Adds real/padded token counts (summed over ranks) and the seconds since this session's
    training began (`wall_s`) to each log entry; rank 0 logs to DVCLive.

    The DVCLive folder is rebuilt from the Trainer's log history when training starts, so a
    resumed run's curve holds the steps before the restart exactly once.
    """

    def __init__(self, tally: TokenTally, live_dir: str | Path):
        self.tally = tally
        self.live_dir = Path(live_dir)
        self.live = None
        self.started = time.perf_counter()

    def on_train_begin(self, args, state, control, **kwargs) -> None:
        self.started = time.perf_counter()
        if state.is_world_process_zero:
            from dvclive import Live

            self.live = Live(dir=str(self.live_dir), dvcyaml=False, save_dvc_exp=False, report=None)
            for entry in state.log_history:
                self._to_live(entry)

    def on_step_end(self, args, state, control, **kwargs) -> None:
        # The last step is logged whatever runtime.train.logging_steps says: the curve and final_loss
        # end where training did, and a run shorter than one interval still has a curve (DVC's output).
        if state.global_step >= state.max_steps:
            control.should_log = True

    def on_log(self, args, state, control, logs=None, **kwargs) -> None:
        counts = torch.tensor(self.tally.take(), dtype=torch.long, device=args.device)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(counts)
        entry = state.log_history[-1]  # the Trainer appended this step's entry before calling us
        entry["tokens"], entry["padded_tokens"] = (int(c) for c in counts.tolist())
        entry["wall_s"] = time.perf_counter() - self.started
        if self.live is not None:
            self._to_live(entry)

    def on_train_end(self, args, state, control, **kwargs) -> None:
        if self.live is not None:
            self.live.end()

    def _to_live(self, entry: dict[str, Any]) -> None:
        if "loss" not in entry:
            return
        self.live.step = entry["step"]
        self.live.log_metric("loss", entry["loss"])
        self.live.log_metric("lr", entry["learning_rate"])
        self.live.next_step()


def summarize(log_history: list[dict[str, Any]]) -> dict[str, float | int]:
    """final_loss, best_loss, tokens_seen and padding_efficiency from the Trainer's log history."""
    losses = [e["loss"] for e in log_history if "loss" in e]
    real = sum(e.get("tokens", 0) for e in log_history)
    padded = sum(e.get("padded_tokens", 0) for e in log_history)
    return {
        "final_loss": losses[-1] if losses else float("nan"),
        "best_loss": min(losses) if losses else float("nan"),
        "tokens_seen": real,
        "padding_efficiency": real / padded if padded else float("nan"),
    }


def steady_tokens_per_s(log_history: list[dict[str, Any]], start_step: int) -> float | None:
    """Real tokens per second over this session's logged steps after its first quarter (start-up,
    kernel selection and allocator warm-up excluded); None with fewer than 2 such entries."""
    entries = [e for e in log_history if "wall_s" in e and e.get("step", 0) > start_step]
    steady = entries[len(entries) // 4:]
    if len(steady) < 2:
        return None
    seconds = steady[-1]["wall_s"] - steady[0]["wall_s"]
    return sum(e["tokens"] for e in steady[1:]) / seconds if seconds > 0 else None
