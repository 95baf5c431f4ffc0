"""The `evolve` params section."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from evolcoder.config import check
from evolcoder.llm.prompts import METHODS


@dataclass(frozen=True)
class EvolveConfig:
    """How instructions are evolved; the LLM itself is configured by the `llm` section.

    The failure policy, checked after every round: past `max_failed_fraction` of its calls
    failing after their retries, or under `min_kept_fraction` of its evolutions kept, the run
    fails (`on_failure: fail`) before writing anything, or goes on with the partial round
    marked in the metrics (`on_failure: keep`).
    """

    methods: Literal["wizardcoder", "wizardlm"] = "wizardcoder"
    # Relative weight of each method of the family; a method left out weighs 1.0.
    weights: dict[str, float] = field(default_factory=dict)
    rounds: int = 2
    seed: int = 0
    limit: int | None = None
    equality_check: bool = False
    # WizardLM's script sent "You are a helpful assistant."; WizardCoder's setting is unpublished.
    system_prompt: str | None = None
    max_failed_fraction: float = 0.02
    min_kept_fraction: float = 0.05
    on_failure: Literal["fail", "keep"] = "fail"

    def __post_init__(self) -> None:
        known = METHODS[self.methods]
        unknown = sorted(set(self.weights) - set(known))
        check(not unknown, "evolve.weights", f"unknown method(s) {unknown} for "
              f"evolve.methods={self.methods} (known: {', '.join(known)})")
        check(all(w >= 0 for w in self.weights.values()), "evolve.weights", "must be >= 0")
        check(sum(self.method_weights().values()) > 0, "evolve.weights", "all weights are 0")
        check(self.rounds >= 1, "evolve.rounds", f"must be >= 1, got {self.rounds}")
        check(self.limit is None or self.limit >= 1, "evolve.limit", "must be >= 1 or null")
        for name in ("max_failed_fraction", "min_kept_fraction"):
            value = getattr(self, name)
            check(0 <= value <= 1, f"evolve.{name}", f"must be a fraction in [0, 1], got {value}")

    def method_weights(self) -> dict[str, float]:
        """Every method of the family with its weight, in the family's order."""
        return {m: self.weights.get(m, 1.0) for m in METHODS[self.methods]}
