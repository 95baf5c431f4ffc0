"""The dataset's choice by the verify stage's labels: `require_verified`, `drop_non_python`."""

from __future__ import annotations

import pytest

from evolcoder.dataset.dataset import DatasetConfig, build_dataset
from evolcoder.dataset.decontam import BenchmarkIndex
from evolcoder.dataset.filters import ESTIMATE
from evolcoder.errors import EvolcoderError

LABELS = ("passed", "failed", "timeout", "no_code", "not_python", "skipped")


def rows(labelled: bool = True) -> list[dict]:
    return [{"id": f"r{i}", "instruction": f"Task number {i} of {label} rows.", "input": "",
             "output": "x = [1, 2]", "round": 0, "method": "seed", "source": "t", "provider": None,
             **({"verified": label, "verify_detail": {"why": label}} if labelled else {})}
            for i, label in enumerate(LABELS)]


def build(data: list[dict], **overrides):
    config = DatasetConfig(rounds=[0], **overrides)
    return build_dataset(data, config, BenchmarkIndex([]), ESTIMATE, max_tokens=2048)


def test_require_verified_drops_failed_timeout_and_no_code_and_keeps_the_rest():
    data = build(rows(), require_verified=True)
    assert [r["id"] for r in data.train] == ["r0", "r4", "r5"]  # passed, not_python, skipped
    assert [(r["id"], r["reason"], r["detail"]) for r in data.removed] == [
        ("r1", "unverified", {"verified": "failed"}), ("r2", "unverified", {"verified": "timeout"}),
        ("r3", "unverified", {"verified": "no_code"})]
    assert data.removed[0]["verify_detail"] == {"why": "failed"}  # the stage's detail travels with the row
    assert all(set(r) == {"id", "instruction", "input", "output", "round", "method", "source", "provider"}
               for r in data.train)


def test_drop_non_python_alone_and_with_require_verified():
    assert [r["id"] for r in build(rows(), drop_non_python=True).removed] == ["r4"]
    assert [r["id"] for r in build(rows(), require_verified=True, drop_non_python=True).train] == ["r0", "r5"]
    assert not build(rows()).removed  # both off: the labels change nothing


def test_unlabelled_rows_are_an_error_only_when_a_label_is_asked_for():
    assert len(build(rows(labelled=False)).train) == len(LABELS)
    with pytest.raises(EvolcoderError, match="row r0 of round 0 has no 'verified' label"):
        build(rows(labelled=False), require_verified=True)
