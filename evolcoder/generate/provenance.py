"""What produced a samples file: `data/generations/<bench>.meta.json` beside it.

It names the library versions, the server that answered (as the server reports itself), and
the batch shapes behind the samples. Greedy text can depend on the batch shape (left padding
changes the attention sums, and a near-tie can flip a token), so a file whose samples came
from more than one batch size (an out-of-memory halving, a run resumed with another
`runtime.generate.batch_size`) says `mixed_batch_shapes: true`, and the stage warns.

A shard that talks to a server records the server's report in the work folder; one that finds
a different report there stops: the samples of one file come from one server.
"""

from __future__ import annotations

import fcntl
import os
import platform
import sys
import urllib.error
from collections import Counter
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from evolcoder.generate.config import GenerateConfig, GenerateRuntime
from evolcoder.generate.server import ModelServer, ServerError, served_models, server_version
from evolcoder.jsonl import read_json, write_json
from evolcoder.llm.config import resolve_api_key

SERVER_FILE = "server.json"


class ServerChanged(ServerError):
    """The server answering now is not the one that generated the finished tasks."""


def server_report(config: GenerateConfig, runtime: GenerateRuntime, started: ModelServer | None) -> dict[str, Any]:
    """How the server describes itself: the models it serves and its version (`GET /version`,
    which vLLM answers); refuses one that does not serve `generate.server.model`."""
    url = started.url if started else config.server.base_url
    try:
        models = served_models(url, api_key=resolve_api_key(config.server, os.environ))
        version = server_version(url)
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError) as e:
        raise ServerError(f"asking the server at {url} what it serves (GET /v1/models, /version) failed ({e}): is an "
                          "OpenAI-compatible server running at generate.server.base_url? (or set "
                          "generate.server.command to start one)") from None
    names = [m.get("id") for m in models]
    if config.server.model not in names:
        raise ServerError(f"the server at {url} serves {names}, not generate.server.model "
                          f"{config.server.model!r}: set generate.server.model to the served name "
                          "(vLLM: --served-model-name)")
    where = ({"command": config.server.command, "gpus_per_shard": runtime.gpus_per_shard} if started
             else {"base_url": url})
    return {**where, "version": version, "models": models}


def record_server(work_dir: str | Path, report: dict[str, Any]) -> None:
    """Keep `report` as the server of this work folder's samples; refuse a different one."""
    path = Path(work_dir) / SERVER_FILE
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # shards of one run may arrive together
        if path.is_file() and (old := read_json(path)) != report:
            raise ServerChanged(
                f"the server answering now ({report}) is not the one that generated the finished tasks in "
                f"{work_dir} ({old}); the samples of one file must come from one server: serve that one "
                f"again, or delete {work_dir} to generate every task afresh")
        write_json(path, report)


def recorded_server(work_dir: str | Path) -> dict[str, Any] | None:
    path = Path(work_dir) / SERVER_FILE
    return read_json(path) if path.is_file() else None


def versions(server: dict[str, Any] | None) -> dict[str, str | None]:
    """This environment's Python, torch and transformers, and vLLM's version as its server reports it."""
    vllm = None
    if server and any(m.get("owned_by") == "vllm" for m in server["models"]) and isinstance(server["version"], dict):
        vllm = server["version"].get("version")
    return {"python": platform.python_version(), "torch": metadata.version("torch"),
            "transformers": metadata.version("transformers"), "vllm": vllm}


def batch_counts(rows: Sequence[dict[str, Any]]) -> tuple[dict[str, int], dict[str, int]]:
    """Samples per batch shape ('<rows>x<width>') and per batch size (prompts per call in force);
    rows a server answered have neither."""
    shapes = Counter(f"{r['batch_shape'][0]}x{r['batch_shape'][1]}" for r in rows if r["batch_shape"])
    sizes = Counter(str(r["batch_size"]) for r in rows if r["batch_size"])
    return dict(sorted(shapes.items())), dict(sorted(sizes.items(), key=lambda kv: -int(kv[0])))


def describe(config: GenerateConfig, benchmark: str, rows: Sequence[dict[str, Any]], numerics: dict[str, Any],
             work_dir: str | Path) -> dict[str, Any]:
    """The meta file's content for the merged `rows`; `numerics` as the work folder's plan holds them."""
    server = recorded_server(work_dir) if config.backend == "openai" else None
    shapes, sizes = batch_counts(rows)
    external = config.backend == "openai" and not config.server.command
    return {"benchmark": benchmark, "backend": config.backend,
            "model": config.server.model if external else config.model,
            "numerics": numerics, "versions": versions(server), "server": server,
            "batch_shapes": shapes, "batch_sizes": sizes, "mixed_batch_shapes": len(sizes) > 1}


def warn_if_mixed(meta: dict[str, Any], samples_path: str | Path, work_dir: str | Path) -> None:
    if not meta["mixed_batch_shapes"]:
        return
    sizes = ", ".join(f"{n} samples at {size} prompts per call" for size, n in meta["batch_sizes"].items())
    print(f"generate: warning: the samples of {samples_path} came from batches of different sizes ({sizes}): "
          "an out-of-memory halving, or a run resumed with another runtime.generate.batch_size. Greedy text "
          "can depend on the batch shape, so a clean run may write other text for some tasks; for samples "
          f"from one batch size, delete {work_dir} and generate again at a batch size that fits",
          file=sys.stderr, flush=True)
