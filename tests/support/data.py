"""Where the tests find the repository and the real public data sets beside it (`../shared/data`,
never copied into the repo): a test that needs a missing file skips, naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def shared_file(name: str) -> Path:
    """One file of `../shared/data`, or skip the test naming what is missing."""
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"real data file {path} is absent (see shared/data/README.md)")
    return path
