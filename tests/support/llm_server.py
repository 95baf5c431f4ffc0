"""A loopback OpenAI-compatible chat server for the LLM layer's tests and benchmark.

A real HTTP server on 127.0.0.1 serving `POST /v1/chat/completions`, `GET /v1/models` and
`GET /stats`. Answers are deterministic: a responder function maps the request body to the
answer text (the default one derives it from a hash of the last message). It can delay every
request and inject faults (429 with Retry-After, 500, a hang past the client's time-out,
malformed JSON, empty choices). Whether the n-th receipt of a call is a fault is decided by a
hash of (seed, call key, n), so a run's fault pattern is the same whatever the arrival order.
The call key is the client's `X-Evolcoder-Key` header (the ledger key), else a hash of the body.
A model it does not serve is answered 404 `model_not_found`, as OpenAI does; any path under
`/html/` answers 200 with an HTML page, as a web UI would at a base URL that is not the API.

In a test: the `llm_server` fixture, or `LLMServer(settings).start()` in a thread.
From a shell or another process (it then outlives the process it serves):
    python tests/support/llm_server.py --port 0 --latency 0.05 --fault-rate 0.2
prints its base URL on the first line and serves until killed; `ServerProcess` wraps that.
(Run it as a file: `python -m tests.llm_server` would find the top-level `tests` package a
dependency installs into site-packages.)
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import socket
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

REPO_ROOT = Path(__file__).resolve().parents[2]
FAULT_KINDS = ("429", "500", "timeout", "malformed", "empty")  # transient: a retry can succeed
ALL_FAULT_KINDS = (*FAULT_KINDS, "401")  # 401: a rejected key, which no retry fixes

Responder = Callable[[dict[str, Any]], str]
HTML_PAGE = b"<!doctype html><html><head><title>Dashboard</title></head><body>Sign in</body></html>"


def hash_responder(body: dict[str, Any]) -> str:
    """A deterministic answer to the last message: its hash and its first words."""
    last = str(body["messages"][-1]["content"])
    digest = hashlib.sha256(f"{body.get('model')}\n{last}".encode()).hexdigest()[:12]
    return f"Answer {digest}: " + " ".join(last.split()[:20])


@dataclass
class ServerSettings:
    """What the server does to each chat request; read per request, so a test may change it."""

    latency_s: float = 0.0          # added to every chat request
    fault_rate: float = 0.0         # share of receipts answered with a fault
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    retry_after: str | None = "1"   # Retry-After header sent with 429 (and with 500 when retry_after_on_500)
    retry_after_on_500: bool = False
    hang_s: float = 30.0            # how long a "timeout" fault holds the request before closing it
    max_faults_per_key: int | None = None  # receipts of a key after this many never fault
    models: tuple[str, ...] = ("gpt-3.5-turbo", "gpt-4")

    def __post_init__(self) -> None:
        unknown = set(self.fault_kinds) - set(ALL_FAULT_KINDS)
        if unknown or not self.fault_kinds:
            raise ValueError(f"fault kinds must be a non-empty subset of {ALL_FAULT_KINDS}, got {self.fault_kinds}")

    def fault_for(self, key: str, receipt: int) -> str | None:
        """The fault for the `receipt`-th arrival of `key` (1-based), or None to answer."""
        if self.max_faults_per_key is not None and receipt > self.max_faults_per_key:
            return None
        digest = hashlib.sha256(f"{self.seed}:{key}:{receipt}".encode()).digest()
        if int.from_bytes(digest[:8], "big") / 2**64 >= self.fault_rate:
            return None
        return self.fault_kinds[int.from_bytes(digest[8:16], "big") % len(self.fault_kinds)]


@dataclass
class _Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    received: Counter = field(default_factory=Counter)   # key -> receipts
    answered: Counter = field(default_factory=Counter)   # key -> 200 answers with a choice
    faults: Counter = field(default_factory=Counter)     # kind -> count
    bearer: set = field(default_factory=set)            # API keys sent
    in_flight: int = 0
    max_in_flight: int = 0
    requests: int = 0

    def arrive(self, key: str, authorization: str | None) -> tuple[int, int]:
        """Count an arrival; return (receipt number of this key, request serial)."""
        with self.lock:
            if authorization:
                self.bearer.add(authorization.removeprefix("Bearer "))
            self.received[key] += 1
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return self.received[key], self.requests

    def decide(self, key: str, outcome: str) -> None:
        """Count how a receipt is being answered: "answer" or a fault kind."""
        with self.lock:
            if outcome == "answer":
                self.answered[key] += 1
            else:
                self.faults[outcome] += 1

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": self.requests,
                "answers": sum(self.answered.values()),
                "faults": dict(self.faults),
                "max_in_flight": self.max_in_flight,
                "api_keys": sorted(self.bearer),
                "in_flight": self.in_flight,
                "received": dict(self.received),
                "answered": dict(self.answered),
            }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real API servers
    disable_nagle_algorithm = True  # headers and body go out in two writes; Nagle would delay the body 40 ms
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/stats":
            self._send(200, self.server.stats.snapshot())
        elif self.path.rstrip("/") == "/v1/models":
            models = [{"id": m, "object": "model", "owned_by": "evolcoder-tests"} for m in self.server.settings.models]
            self._send(200, {"object": "list", "data": models})
        else:
            self._send(404, {"error": {"message": f"no route GET {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if self.path.startswith("/html/"):
            self._send_raw(200, HTML_PAGE, content_type="text/html; charset=utf-8")
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route POST {self.path}", "type": "not_found"}})
            return
        if body.get("model") not in self.server.settings.models:
            self._send(404, {"error": {"message": f"The model `{body.get('model')}` does not exist or you do not "
                                                  "have access to it.", "type": "invalid_request_error",
                                       "code": "model_not_found"}})
            return
        key = self.headers.get("X-Evolcoder-Key") or hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        receipt, serial = self.server.stats.arrive(key, self.headers.get("Authorization"))
        try:
            self._chat(body, key, receipt, f"req_{serial:06d}")
        finally:
            self.server.stats.leave()

    def _chat(self, body: dict[str, Any], key: str, receipt: int, request_id: str) -> None:
        settings = self.server.settings
        self.server.stopping.wait(settings.latency_s)
        fault = settings.fault_for(key, receipt)
        self.server.stats.decide(key, fault or "answer")
        if fault == "timeout":
            self.server.stopping.wait(settings.hang_s)
            self.close_connection = True
        elif fault in ("429", "500", "401"):
            retry_after = settings.retry_after if fault == "429" or settings.retry_after_on_500 else None
            headers = {"Retry-After": retry_after} if retry_after is not None and fault != "401" else {}
            kind = {"429": "rate_limit_exceeded", "500": "server_error", "401": "invalid_api_key"}[fault]
            self._send(int(fault), {"error": {"message": f"injected {fault}", "type": kind}}, request_id, headers)
        elif fault == "malformed":
            self._send_raw(200, b'{"id": "chatcmpl-broken", "choices": [{"index": 0, "mess', request_id)
        else:
            answer = None if fault == "empty" else self.server.responder(body)
            self._send(200, _completion(body, answer, request_id), request_id)

    def _send(self, status: int, payload: dict[str, Any], request_id: str | None = None,
              headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode(), request_id, headers)

    def _send_raw(self, status: int, data: bytes, request_id: str | None = None,
                  headers: dict[str, str] | None = None, content_type: str = "application/json") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            if request_id:
                self.send_header("x-request-id", request_id)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (its time-out); nothing to answer


def _completion(body: dict[str, Any], answer: str | None, request_id: str) -> dict[str, Any]:
    prompt_words = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    choices = [] if answer is None else [
        {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}
    ]
    return {
        "id": f"chatcmpl-{request_id}", "object": "chat.completion", "created": 0, "model": body.get("model"),
        "choices": choices,
        "usage": {"prompt_tokens": prompt_words, "completion_tokens": len((answer or "").split()),
                  "total_tokens": prompt_words + len((answer or "").split())},
    }


class LoopbackServer(ThreadingHTTPServer):
    """A test server on 127.0.0.1 (`port` 0 picks a free one): its handler threads never hold up
    its shutdown, and a client that hung up is no server error."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", port), handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class InThread:
    """A `LoopbackServer` in a background thread of this process; a context manager."""

    def __init__(self, server: LoopbackServer, name: str) -> None:
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)

    @property
    def url(self) -> str:
        """The base URL for `llm.base_url`."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(LoopbackServer):
    request_queue_size = 256  # the default 5 drops connection bursts from a concurrent client

    def __init__(self, port: int, settings: ServerSettings, responder: Responder) -> None:
        super().__init__(port, _Handler)
        self.settings = settings
        self.responder = responder
        self.stats = _Stats()
        self.stopping = threading.Event()


class LLMServer(InThread):
    """The chat server in a background thread of this process; a context manager."""

    _server: _Server

    def __init__(self, settings: ServerSettings | None = None, responder: Responder = hash_responder,
                 port: int = 0) -> None:
        super().__init__(_Server(port, settings or ServerSettings(), responder), "llm-server")

    @property
    def settings(self) -> ServerSettings:
        return self._server.settings

    def stats(self) -> dict[str, Any]:
        return self._server.stats.snapshot()

    def serve_forever(self) -> None:
        """Serve in this thread until the process is killed."""
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.stopping.set()  # ends the latency and hang waits of requests in flight
        super().stop()


def free_port() -> int:
    """A loopback port nothing listens on now (for a server started later, or one that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch_stats(base_url: str) -> dict[str, Any]:
    """GET the stats of a running server from its base URL (`http://127.0.0.1:P/v1`)."""
    root = base_url.rstrip("/").removesuffix("/v1")
    with urllib.request.urlopen(f"{root}/stats", timeout=10) as response:
        return json.load(response)


class ServerProcess:
    """The server in its own process (`python tests/support/llm_server.py`), so it outlives a client
    process that is killed; a context manager. `args` are the command-line options."""

    def __init__(self, *args: str) -> None:
        self.args = args
        self.url = ""
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> ServerProcess:
        self._proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--port", "0", *self.args],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.url = self._proc.stdout.readline().strip()
        if not self.url:
            self._proc.wait(timeout=10)
            raise RuntimeError(f"the test LLM server did not start: {self._proc.stderr.read()}")
        return self

    def stats(self) -> dict[str, Any]:
        return fetch_stats(self.url)

    def __exit__(self, *exc: object) -> None:
        self._proc.terminate()
        self._proc.wait(timeout=10)
        self._proc.stdout.close()
        self._proc.stderr.close()


def load_responder(spec: str) -> Responder:
    """`package.module:function` -> the function."""
    module_name, _, attr = spec.partition(":")
    if not attr:
        raise ValueError(f"--responder must be module:function, got {spec!r}")
    return getattr(importlib.import_module(module_name), attr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every chat request")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--fault-kinds", default=",".join(FAULT_KINDS), help=f"comma-separated subset of {ALL_FAULT_KINDS}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--retry-after", default="1", help="Retry-After value sent with 429")
    parser.add_argument("--hang", type=float, default=30.0, help="seconds a 'timeout' fault holds a request")
    parser.add_argument("--responder", default=None, help="module:function mapping a request body to the answer")
    parser.add_argument("--model", action="append", default=[], help="a model name it serves (besides the defaults)")
    args = parser.parse_args(argv)
    settings = ServerSettings(latency_s=args.latency, fault_rate=args.fault_rate,
                              fault_kinds=tuple(args.fault_kinds.split(",")), seed=args.seed,
                              retry_after=args.retry_after, hang_s=args.hang,
                              models=(*ServerSettings.models, *args.model))
    responder = load_responder(args.responder) if args.responder else hash_responder
    server = LLMServer(settings, responder, port=args.port)
    print(server.url, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
