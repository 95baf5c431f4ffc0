"""`evolcoder evolve --estimate`: what an evolve run sends and costs, before anything is sent.

Per round and in total: the calls, the prompt and completion tokens, and the USD at
`llm.prices` (its batch prices with `openai-batch`), in two scenarios:
- `max`: every completion runs to `llm.max_tokens`, and each round's prompts carry the previous
  round's instructions at that length: what `llm.max_tokens` allows at most;
- `exp`: completions as long as the answers the ledger holds for this model measure, by purpose
  (evolve, equality, answer); shown once the ledger has answers of every purpose the run makes.
Calls count every item in every round (an instruction eliminated before its answer saves that
call, so they are an upper bound). Round 1's prompts are built exactly from the seeds; token
counts are characters / 4, or the characters per token the ledger's answers measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evolcoder.evolve.config import EvolveConfig
from evolcoder.llm.prompts import EQUALITY_TEMPLATE, evolution_prompt
from evolcoder.evolve.records import PoolItem
from evolcoder.evolve.rounds import plan_round, purposes
from evolcoder.llm import LLMConfig, LLMRuntime
from evolcoder.llm.client import CHARS_PER_TOKEN, MODEL_PROVIDERS  # the ledger's answers refine the former
from evolcoder.llm.ledger import AnswerStats
from evolcoder.llm.usage import Pricing

COLUMNS = (("prompt", "prompt_tokens", ",.0f", 15), ("completion", "completion_tokens", ",.0f", 17),
           ("USD", "cost_usd", ",.4f", 13))  # (title, field, format, width)


@dataclass(frozen=True)
class Scenario:
    """Completion tokens per call by purpose, and characters per token."""

    completion: Mapping[str, float]
    chars_per_token: float


@dataclass(frozen=True)
class RoundEstimate:
    round: int
    calls: int
    prompt_tokens: float
    completion_tokens: float
    cost_usd: float


def scenarios(config: EvolveConfig, llm: LLMConfig,
              stats: Mapping[str, AnswerStats]) -> tuple[Scenario, Scenario | None]:
    """The `max` scenario, and the `exp` one measured from `stats` (None without answers of every
    purpose the run makes)."""
    measured = sum(s.prompt_tokens for s in stats.values())
    chars_per_token = sum(s.prompt_chars for s in stats.values()) / measured if measured else CHARS_PER_TOKEN
    bound = Scenario({p: llm.max_tokens for p in purposes(config)}, chars_per_token)
    if not all(p in stats for p in purposes(config)):
        return bound, None
    return bound, Scenario({p: stats[p].completion_tokens / stats[p].calls for p in purposes(config)},
                           chars_per_token)


def estimate(pool: Sequence[PoolItem], config: EvolveConfig, llm: LLMConfig,
             scenario: Scenario) -> list[RoundEstimate]:
    """Every round of a run over `pool` in `scenario`."""
    n, system = len(pool), len(config.system_prompt or "")
    evolved = scenario.completion["evolve"] * scenario.chars_per_token  # an evolved instruction, in characters
    attempts = plan_round(config, pool, 1)
    first_prompts = sum(len(evolution_prompt(config.methods, a.method, a.question)) for a in attempts)
    pricing = Pricing.of(llm)
    rounds = []
    for k in range(1, config.rounds + 1):
        questions = sum(len(a.question) for a in attempts) if k == 1 else n * evolved  # what round k evolves
        prompt_chars = {
            "evolve": first_prompts if k == 1 else n * _template_chars(config) + questions,
            "equality": n * (len(EQUALITY_TEMPLATE) + evolved) + questions,
            "answer": n * evolved,
        }
        prompt_tokens = sum(prompt_chars[p] + n * system for p in purposes(config)) / scenario.chars_per_token
        completion_tokens = n * sum(scenario.completion[p] for p in purposes(config))
        rounds.append(RoundEstimate(k, n * len(purposes(config)), prompt_tokens, completion_tokens,
                                    pricing.cost(prompt_tokens, completion_tokens)))
    return rounds


def format_estimate(pool: Sequence[PoolItem], config: EvolveConfig, llm: LLMConfig, runtime: LLMRuntime,
                    stats: Mapping[str, AnswerStats]) -> str:
    """The printed estimate: a header, a table per round and in total, and how it was counted."""
    bound, expected = scenarios(config, llm, stats)
    high = estimate(pool, config, llm, bound)
    low = estimate(pool, config, llm, expected) if expected else [None] * len(high)
    pricing = Pricing.of(llm)
    lines = [
        f"evolve estimate: {len(pool):,} seeds x {config.rounds} rounds, {config.methods} methods, "
        f"equality check {'on' if config.equality_check else 'off'}; model {llm.model} (llm.provider {llm.provider}) "
        f"at ${pricing.prompt:g} / ${pricing.completion:g} per 1k prompt / completion tokens",
        _header(),
    ]
    for hi, lo in zip(high, low):
        lines.append(_row(str(hi.round), hi, lo))
    lines.append(_row("total", _total(high), _total(low) if expected else None))
    lines.append(f"max: every completion at llm.max_tokens ({llm.max_tokens}). " + (
        "exp: completions as long as the ledger's answers: " + ", ".join(
            f"{p} {expected.completion[p]:.0f} tokens ({stats[p].calls} answers)" for p in purposes(config))
        if expected else "exp: needs the ledger to hold answers of this model for every purpose "
        f"({', '.join(purposes(config))}); a short run first (evolve.limit: 20) measures them."))
    lines.append(f"Tokens at {bound.chars_per_token:.2f} characters per token"
                 f"{' (measured from the ledger)' if stats else ''}; calls count every item in every round.")
    if llm.provider not in MODEL_PROVIDERS:
        lines.append(f"llm.provider is {llm.provider}: this run itself calls no model and costs nothing; the figures "
                     f"price the same calls sent to {llm.model}.")
    if runtime.max_cost_usd is not None:
        lines.append(f"runtime.llm.max_cost_usd: ${runtime.max_cost_usd:g}: the run stops before it would spend more.")
    return "\n".join(lines)


def _template_chars(config: EvolveConfig) -> float:
    """Characters of the evolution prompt around the question, averaged over the methods' weights."""
    weights = config.method_weights()
    total = sum(weights.values())
    return sum(w * len(evolution_prompt(config.methods, m, "")) for m, w in weights.items()) / total


def _total(rounds: Sequence[RoundEstimate]) -> RoundEstimate:
    return RoundEstimate(0, sum(r.calls for r in rounds), sum(r.prompt_tokens for r in rounds),
                         sum(r.completion_tokens for r in rounds), sum(r.cost_usd for r in rounds))


def _header() -> str:
    return f"{'round':<6}{'calls':>10}" + "".join(
        f"{f'{name} {case}':>{width}}" for name, _, _, width in COLUMNS for case in ("max", "exp"))


def _row(label: str, high: RoundEstimate, low: RoundEstimate | None) -> str:
    cells = [f"{label:<6}{high.calls:>10,}"]
    for _, attr, fmt, width in COLUMNS:
        cells.append(f"{format(getattr(high, attr), fmt):>{width}}")
        cells.append(f"{'-' if low is None else format(getattr(low, attr), fmt):>{width}}")
    return "".join(cells)
