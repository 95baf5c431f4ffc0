"""A server the generate stage starts itself (`generate.server.command`), waits for and stops, and
every way it fails: it exits at once, never listens, or dies mid-run. A clear error each time,
no samples file, and nothing left running.

The commands start the project's loopback test server (tests/support/llm_server.py, about a second) or
Hugging Face's `transformers serve` (about 15 s, one test), as a user's command would start vLLM.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
from pathlib import Path

from tests.support import llm_server
import pytest

from evolcoder.benchmarks import load_benchmark
from evolcoder.generate.config import GenerateConfig, GenerateRuntime, ServerConfig, ServerRuntime
from evolcoder.generate.openai_backend import OpenAIBackend
from evolcoder.generate.provenance import ServerChanged
from evolcoder.generate.runner import generate_benchmark
from evolcoder.generate.server import ServerError
from evolcoder.jsonl import read_jsonl

TEST_SERVER = f"{sys.executable} {Path(llm_server.__file__).resolve()} --port {{port}} --model {{model}}"


@pytest.fixture(scope="module")
def problems():
    return load_benchmark("humaneval")[:6]


def started(model: str | Path, command: str, **server: float) -> tuple[GenerateConfig, GenerateRuntime]:
    """The openai backend with a server its shard starts; requests use the served model's name;
    `server`: the knobs of runtime.generate.server."""
    endpoint = ServerConfig(provider="openai", model=str(model), api_key_env=None, command=command)
    return (GenerateConfig(backend="openai", model=str(model), server=endpoint, max_new_tokens=12),
            GenerateRuntime(batch_size=2, server=ServerRuntime(**server)))


def alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def pid_of(path: Path) -> int:
    return int(path.read_text())


def test_a_started_server_answers_every_task_and_is_stopped(problems, tmp_path, capsys):
    pid_file = tmp_path / "server.pid"
    config = started(tmp_path / "model", f"echo $$ > {pid_file}; exec {TEST_SERVER}")
    out = tmp_path / "humaneval.jsonl"
    generate_benchmark(*config, "humaneval", problems, out, tmp_path / "work")

    rows = read_jsonl(out)
    assert [r["task_id"] for r in rows] == [p.task_id for p in problems]
    assert all(r["response"].startswith("Answer ") and r["batch_shape"] is None for r in rows)
    assert not alive(pid_of(pid_file))
    assert "started the model server" in capsys.readouterr().err
    assert (tmp_path / "work" / "server-0-of-1.log").is_file()
    meta = json.loads((tmp_path / "humaneval.meta.json").read_text())
    assert meta["server"]["command"] == config[0].server.command and meta["server"]["version"] is None
    assert [m["id"] for m in meta["server"]["models"]] == ["gpt-3.5-turbo", "gpt-4", str(tmp_path / "model")]
    assert meta["versions"]["vllm"] is None and meta["batch_shapes"] == {} and not meta["mixed_batch_shapes"]


def test_a_server_that_exits_at_once_is_a_clear_error(problems, tmp_path):
    config = started(tmp_path / "model", "echo 'cannot bind port {port}: no such model {model}' >&2; exit 3")
    with pytest.raises(ServerError) as failure:
        generate_benchmark(*config, "humaneval", problems, tmp_path / "o.jsonl", tmp_path / "work")
    message = str(failure.value)
    log = tmp_path / "work" / "server-0-of-1.log"
    assert message.startswith("the model server exited before it was ready (exit status 3)")
    assert f"last lines of its log {log}:" in message and f"no such model {tmp_path / 'model'}" in message
    assert not (tmp_path / "o.jsonl").exists() and not (tmp_path / "o.meta.json").exists()


def test_a_server_that_never_listens_is_stopped_with_everything_it_started(problems, tmp_path):
    child, leader = tmp_path / "child.pid", tmp_path / "leader.pid"
    command = f": {{port}}; sleep 300 & echo $! > {child}; echo $$ > {leader}; echo loading; exec sleep 300"
    config = started(tmp_path / "model", command, ready_timeout_s=1)
    with pytest.raises(ServerError) as failure:
        generate_benchmark(*config, "humaneval", problems, tmp_path / "o.jsonl", tmp_path / "work")
    message = str(failure.value)
    assert "did not answer GET http://127.0.0.1:" in message
    assert "within runtime.generate.server.ready_timeout_s=1s; stopped it" in message and "| loading" in message
    assert not alive(pid_of(leader)) and not alive(pid_of(child))
    assert not (tmp_path / "o.jsonl").exists()


def test_a_server_killed_mid_run_fails_at_once_and_a_rerun_resumes(problems, tmp_path, monkeypatch):
    pid_file = tmp_path / "server.pid"
    config = started(tmp_path / "model", f"echo $$ > {pid_file}; exec {TEST_SERVER}")
    out, work = tmp_path / "o.jsonl", tmp_path / "work"
    answer = OpenAIBackend.generate
    batches = []

    def killed_after_the_first_batch(backend, jobs):
        batches.append(len(jobs))
        completions = answer(backend, jobs)
        if len(batches) == 1:
            os.kill(pid_of(pid_file), signal.SIGKILL)  # as the kernel's out-of-memory killer would
        return completions

    monkeypatch.setattr(OpenAIBackend, "generate", killed_after_the_first_batch)
    with pytest.raises(ServerError, match=r"^the model server stopped mid-run \(killed by SIGKILL\)") as failure:
        generate_benchmark(*config, "humaneval", problems, out, work)
    assert "rerunning resumes" in str(failure.value) and len(batches) == 2  # no retries against a dead server
    assert not out.exists() and len(read_jsonl(work / "shard-0-of-1.jsonl")) == 2

    generate_benchmark(*config, "humaneval", problems, out, work)
    assert [r["task_id"] for r in read_jsonl(out)] == [p.task_id for p in problems]
    assert len(batches) == 4 and len(read_jsonl(work / "shard-0-of-1.jsonl")) == 6  # only the 4 missing tasks


def test_a_resumed_run_refuses_a_server_other_than_the_one_that_began_it(llm_server, problems, tmp_path):
    server = ServerConfig(provider="openai", model="gpt-4", base_url=llm_server.url, api_key_env=None)
    config = GenerateConfig(backend="openai", server=server), GenerateRuntime(batch_size=2)
    generate_benchmark(*config, "humaneval", problems, tmp_path / "o.jsonl", tmp_path / "work")
    shard = tmp_path / "work" / "shard-0-of-1.jsonl"
    shard.write_text("".join(shard.read_text().splitlines(keepends=True)[:2]))  # as if killed after one batch

    llm_server.settings.models = ("gpt-4", "gpt-4o")  # another server at the same address
    with pytest.raises(ServerChanged, match=r"is not the one that generated the finished tasks in .*work"):
        generate_benchmark(*config, "humaneval", problems, tmp_path / "o.jsonl", tmp_path / "work")


def test_a_server_that_does_not_serve_the_model_is_refused_by_name(llm_server, problems, tmp_path):
    server = ServerConfig(provider="openai", model="models/checkpoint", base_url=llm_server.url, api_key_env=None)
    config = GenerateConfig(backend="openai", server=server), GenerateRuntime()
    with pytest.raises(ServerError, match=r"serves \['gpt-3.5-turbo', 'gpt-4'\], not generate.server.model "
                                          r"'models/checkpoint': set generate.server.model"):
        generate_benchmark(*config, "humaneval", problems, tmp_path / "o.jsonl", tmp_path / "work")


@pytest.mark.slow
def test_generate_starts_transformers_serve_and_gets_what_the_model_writes(tiny_checkpoint, problems, tmp_path):
    from tests.support.transformers_serve import missing_requirement, serve_command, serveable_copy

    if (missing := missing_requirement()) is not None:
        pytest.skip(missing)
    problems = problems[:3]
    local = GenerateConfig(model=str(tiny_checkpoint), max_new_tokens=12), GenerateRuntime(batch_size=3)
    generate_benchmark(*local, "humaneval", problems, tmp_path / "local.jsonl", tmp_path / "local")
    pid_file = tmp_path / "server.pid"
    command = f"echo $$ > {pid_file}; exec " + " ".join(serve_command("{model}", "{port}"))
    served = started(serveable_copy(tiny_checkpoint, tmp_path / "model"), command)
    generate_benchmark(*served, "humaneval", problems, tmp_path / "served.jsonl", tmp_path / "served")

    # greedy on the same weights: the server saw exactly the prompt, and answered what the model writes
    assert ([r["response"] for r in read_jsonl(tmp_path / "served.jsonl")]
            == [r["response"] for r in read_jsonl(tmp_path / "local.jsonl")])
    assert not alive(pid_of(pid_file))
    meta = json.loads((tmp_path / "served.meta.json").read_text())
    assert meta["server"]["models"] == [{"id": str(tmp_path / "model"), "owned_by": "local"}]
    assert meta["server"]["version"] is None and meta["versions"]["vllm"] is None  # it has no GET /version


@pytest.mark.slow
def test_a_failed_shard_stops_the_servers_of_the_shards_it_ends(fake_gpus, problems, tmp_path):
    from evolcoder.errors import EvolcoderError

    fake_gpus(2)  # shard 0 gets GPU 0, shard 1 GPU 1 (the shard processes themselves see no CUDA)
    pids = tmp_path / "pids"
    command = (f'echo "$CUDA_VISIBLE_DEVICES $$" >> {pids}; [ "$CUDA_VISIBLE_DEVICES" = 0 ] && exit 3; '
               f"exec {TEST_SERVER} --latency 30")  # shard 1's server answers slowly: it is mid-run when ended
    recipe, runtime = started(tmp_path / "model", command)
    config = recipe, dataclasses.replace(runtime, num_shards=2)
    with pytest.raises(EvolcoderError, match=r"generation shard 0/2 failed"):
        generate_benchmark(*config, "humaneval", problems, tmp_path / "o.jsonl", tmp_path / "work")
    servers = dict(line.split() for line in pids.read_text().splitlines())
    assert set(servers) == {"0", "1"} and not alive(int(servers["1"]))


def test_a_process_that_outlives_sigkill_is_named_and_the_stop_returns(monkeypatch, capsys):
    """A process stuck in the kernel (a GPU driver call) ignores even SIGKILL for a while: the stop
    says which, instead of hanging on it."""
    from evolcoder.generate import server

    monkeypatch.setattr(server, "_live_members", lambda pgid: [4242])
    server._wait_until_gone(77, timeout_s=0.2)
    assert ("process(es) 4242 of the model server's group 77 still run 0.2s after SIGKILL"
            in capsys.readouterr().err)
