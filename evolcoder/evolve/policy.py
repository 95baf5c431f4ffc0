"""The failure policy: is a finished round good enough to build the next one on?

A round breaches it when more than `evolve.max_failed_fraction` of its calls still failed after
their retries (a server that is down, a wrong model name on a pinned server, a rate limit that
never lifts), or fewer than `evolve.min_kept_fraction` of its evolutions were kept (a teacher
that answers garbage). The report says what happened and what to do: failed calls by error
kind, the first errors with their request ids, the eliminations, the teacher and where it was
called, and what the ledger kept for the next run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evolcoder.errors import EvolcoderError
from evolcoder.evolve.config import EvolveConfig
from evolcoder.llm import ChatResult, Ledger, LLMConfig
from evolcoder.llm.client import MODEL_PROVIDERS

FIRST_ERRORS = 3
HINTS = {
    "connection": "no connection to {url}: is the server up, and is llm.base_url right?",
    "timeout": "answers took longer than runtime.llm.timeout_s: raise it, or lower runtime.llm.concurrency",
    "http_429": "the server's rate limit: lower runtime.llm.concurrency or set runtime.llm.requests_per_minute",
    "http_400": "the server refused the requests as sent (a server pinned to another model says so above: "
                "set llm.model to its model name)",
    "batch_expired": "batches did not finish within the Batch API's 24 h window",
}


class EvolveFailed(EvolcoderError):
    """A round breached the failure policy with `evolve.on_failure: fail`."""


@dataclass(frozen=True)
class RoundHealth:
    """What a policy decision needs to know about one round."""

    round: int
    calls: int
    failed: int
    attempted: int
    kept: int
    error_kinds: Counter[str]
    first_errors: tuple[str, ...]
    eliminated: Counter[str]


def assess(k: int, records: Sequence[dict[str, Any]], results: Sequence[ChatResult]) -> RoundHealth:
    """The health of round `k` from its records and its calls' results."""
    failed = [r for r in results if not r.ok]
    return RoundHealth(
        round=k, calls=len(results), failed=len(failed), attempted=len(records),
        kept=sum(rec["eliminated"] is None for rec in records),
        error_kinds=Counter(r.error_kind or "unknown" for r in failed),
        first_errors=tuple(rec["error"] for rec in records if rec["error"])[:FIRST_ERRORS],
        eliminated=Counter(rec["eliminated"] for rec in records if rec["eliminated"] is not None),
    )


def breaches(health: RoundHealth, config: EvolveConfig) -> list[str]:
    """The thresholds a round crossed, each as one sentence; empty when it passes."""
    found = []
    if health.calls and health.failed / health.calls > config.max_failed_fraction:
        found.append(f"{health.failed} of {health.calls} calls failed after their retries "
                     f"({health.failed / health.calls:.1%}), more than evolve.max_failed_fraction "
                     f"({config.max_failed_fraction:.1%})")
    if health.attempted and health.kept / health.attempted < config.min_kept_fraction:
        found.append(f"{health.kept} of {health.attempted} evolutions kept ({health.kept / health.attempted:.1%}), "
                     f"fewer than evolve.min_kept_fraction ({config.min_kept_fraction:.1%})")
    return found


def failure_report(health: RoundHealth, found: Sequence[str], llm: LLMConfig, ledger: Ledger) -> str:
    """The message of a failed round: what crossed the policy, why, and how to go on."""
    lines = [f"round {health.round} breached the failure policy:", *(f"  {sentence}" for sentence in found)]
    if health.error_kinds:
        lines.append(f"  failed calls by kind: {_tally(health.error_kinds)}")
        lines += ["  first errors:", *(f"    {error}" for error in health.first_errors)]
    if health.eliminated:
        lines.append(f"  eliminated evolutions by reason: {_tally(health.eliminated)}")
    where = llm.endpoint if llm.provider in MODEL_PROVIDERS else "no server"
    lines.append(f"  teacher: model {llm.model} (llm.provider {llm.provider}) at {where}")
    lines += [f"  hint: {HINTS[kind].format(url=llm.endpoint)}" for kind in health.error_kinds if kind in HINTS]
    lines.append(f"No outputs were written. The ledger {ledger.folder} keeps the {len(ledger)} call(s) answered so "
                 "far, so the next run sends only the calls that failed or were not made. To build on partial "
                 "rounds on purpose, set evolve.on_failure: keep (recorded in metrics/evolve.json).")
    return "\n".join(lines)


def _tally(counts: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.most_common())
