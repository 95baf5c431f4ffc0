"""Shared fixtures: the real public data beside the repo, and the repo root."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def shared_data() -> Path:
    """`../shared/data`, or skip: the real data sets are never copied into the repo."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (see shared/data/README.md)")
    return SHARED_DATA


def shared_file(name: str) -> Path:
    """One file of `../shared/data`, or skip the test naming what is missing."""
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"real data file {path} is absent (see shared/data/README.md)")
    return path
