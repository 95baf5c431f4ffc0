"""`metrics/verify.json` and the pass-rate plot: counts by label, pass rate by round and method.

The pass rate is passed / (passed + failed + timeout): the share of the Python answers that
were checked and passed. `no_code`, `not_python` and `skipped` answers are counted apart, not
in it; it is null where nothing was checked (`verify.mode: none`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from evolcoder.files.records import LABELS
from evolcoder.verify.verify import Answer, Label

CHECKED = ("passed", "failed", "timeout")


def checked(counts: Counter) -> int:
    """How many of the counted answers were checked: passed, failed or timed out."""
    return sum(counts[label] for label in CHECKED)


def pass_rate(counts: Counter) -> float | None:
    n = checked(counts)
    return round(counts["passed"] / n, 4) if n else None


def verify_metrics(answers: Sequence[Answer], labels: Sequence[Label], mode: str) -> dict[str, Any]:
    """Flat metrics with stable keys: `passed` ... `skipped`, `pass_rate`, `failed_to_compile`
    (those of `failed` whose code does not even compile), and the labels and pass rate per
    round (`round_1.passed`, `round_1.pass_rate`) and per method (`method_seed.pass_rate`);
    in `tests` mode, `tests.unusable` (skipped: the block did not parse, had no assert, or its
    call failed) and `tests.every_statement_failed` (failed on every statement: as much
    evidence against the test as against the answer)."""
    metrics: dict[str, Any] = {"mode": mode, "rows": len(answers)}
    metrics.update(_counts("", [label.verified for label in labels]))
    metrics["failed_to_compile"] = sum(label.detail.get("compiles") is False for label in labels)
    for k in sorted({a.round for a in answers}):
        metrics.update(_counts(f"round_{k}.", [l.verified for a, l in zip(answers, labels) if a.round == k]))
    for method in sorted({a.method for a in answers}):
        counts = Counter(l.verified for a, l in zip(answers, labels) if a.method == method)
        metrics[f"method_{method}.checked"] = checked(counts)
        metrics[f"method_{method}.pass_rate"] = pass_rate(counts)
    if mode == "tests":
        metrics["tests.unusable"] = sum(l.detail.get("reason") in ("unusable tests", "the tests call failed")
                                        for l in labels)
        metrics["tests.every_statement_failed"] = sum(bool(l.detail.get("every_statement_failed")) for l in labels)
    return metrics


def _counts(prefix: str, verified: list[str]) -> dict[str, Any]:
    counts = Counter(verified)
    return {**{f"{prefix}{label}": counts[label] for label in LABELS}, f"{prefix}pass_rate": pass_rate(counts)}


def pass_rate_table(answers: Sequence[Answer], labels: Sequence[Label]) -> list[dict[str, Any]]:
    """The pass rate by round and method, for a bar plot; groups with nothing checked are left out."""
    groups: dict[tuple[int, str], Counter] = {}
    for answer, label in zip(answers, labels):
        groups.setdefault((answer.round, answer.method), Counter())[label.verified] += 1
    return [{"group": f"round {k} {method}", "round": k, "method": method, "pass_rate": rate,
             "checked": checked(counts)}
            for (k, method), counts in sorted(groups.items()) if (rate := pass_rate(counts)) is not None]
