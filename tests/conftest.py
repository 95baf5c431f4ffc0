"""Shared fixtures: the real public data beside the repo, and the repo root."""

from __future__ import annotations

from pathlib import Path

import pytest
from llm_server import LLMServer

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


@pytest.fixture
def cache_dir():
    """A scratch folder outside /tmp (under $HOME), removed afterwards: the sandbox gives samples a
    private /tmp, so expected outputs that a sample's check reads from a file must live elsewhere."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="evolcoder-test-", dir=Path.home()))
    yield path
    shutil.rmtree(path)


@pytest.fixture
def llm_server():
    """A loopback OpenAI-compatible server (tests/llm_server.py) on a thread of this process;
    its `settings` can be changed between calls (latency, fault rate and kinds, Retry-After)."""
    with LLMServer() as server:
        yield server


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A random tiny GPTBigCode checkpoint (HF format, PAD token, 1024 positions, 400-token
    vocabulary): a stand-in for models/checkpoint."""
    from standin import save_standin_checkpoint
    from evolcoder.train.config import ScratchModelConfig

    config = ScratchModelConfig(n_layer=2, n_embd=64, n_head=4, n_positions=1024, vocab_size=400)
    return save_standin_checkpoint(tmp_path_factory.mktemp("tiny_checkpoint"), config)
