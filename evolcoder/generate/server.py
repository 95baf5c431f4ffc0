"""A model server that a generation shard starts, waits for and stops (`generate.server.command`).

The command runs through the shell in its own process group, on the shard's GPUs
(`CUDA_VISIBLE_DEVICES`), with its output in a log file. It is ready when `GET /v1/models`
answers; it is stopped with SIGTERM to its group, then SIGKILL, and waited for until none of its
processes is left. Every way it can fail (it exits before it is ready, never answers, dies
mid-run) is a `ServerError` that says what happened, its exit status and the end of its log.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType
from typing import Any

from evolcoder.errors import EvolcoderError

POLL_S = 0.5
STOP_GRACE_S = 30.0
LOG_TAIL_LINES = 20
MODEL_FIELDS = ("id", "owned_by", "root", "parent", "max_model_len")  # what names a served model, not when it loaded


class ServerError(EvolcoderError):
    """The model server could not be started, did not become ready, or stopped answering."""


def free_port() -> int:
    """A loopback port nothing listens on now, for the server to bind."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render_command(template: str, model: str, port: int, gpus: int) -> str:
    """The command line with its placeholders filled in (the model path shell-quoted). Other
    braces are left alone: server options often take JSON."""
    return (template.replace("{model}", shlex.quote(model)).replace("{port}", str(port))
            .replace("{gpus}", str(gpus)))


def get_json(url: str, timeout_s: float, api_key: str | None = None) -> Any:
    """GET `url` and decode its JSON body; raises urllib's errors (HTTPError for a status >= 400)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout_s) as response:
        return json.load(response)


def served_models(base_url: str, timeout_s: float = 10.0, api_key: str | None = None) -> list[dict[str, Any]]:
    """The models `GET <base_url>/models` lists, each cut to the fields that name it."""
    data = get_json(f"{base_url.rstrip('/')}/models", timeout_s, api_key)
    return [{k: entry[k] for k in MODEL_FIELDS if k in entry} for entry in data.get("data", [])]


def server_version(base_url: str, timeout_s: float = 10.0) -> Any:
    """What `GET /version` answers (vLLM: {"version": "0.6.3"}), or None for a server without it."""
    root = base_url.rstrip("/").removesuffix("/v1")
    try:
        return get_json(f"{root}/version", timeout_s)
    except urllib.error.HTTPError:
        return None  # 404 and the like: this server has no version endpoint


def exit_status(returncode: int) -> str:
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exit status {returncode}"


class ModelServer:
    """A started server; a context manager (started and ready on enter, stopped on exit).

    `url` is its OpenAI base URL. While it runs, SIGTERM to this process raises SystemExit, so the
    server is stopped when a shard process is terminated.
    """

    def __init__(self, template: str, model: str, gpus: list[str], gpus_per_shard: int, log_path: Path,
                 ready_timeout_s: float) -> None:
        self.port = free_port()
        self.command = render_command(template, model, self.port, gpus_per_shard)
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log_path = Path(log_path)
        self.ready_timeout_s = ready_timeout_s
        self.env = {**os.environ, "CUDA_VISIBLE_DEVICES": ",".join(gpus)} if gpus else None
        self._proc: subprocess.Popen | None = None
        self._saved_handler: Any = None

    def __enter__(self) -> ModelServer:
        self._stop_on_sigterm()
        try:
            self._start()
            self._wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            if self._saved_handler is not None:
                signal.signal(signal.SIGTERM, self._saved_handler)
                self._saved_handler = None

    def _start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(["/bin/sh", "-c", self.command], stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        print(f"generate: started the model server (process group {self._proc.pid}, log {self.log_path}): "
              f"{self.command}", file=sys.stderr, flush=True)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        while True:
            if self._proc.poll() is not None:
                raise self._failure(f"exited before it was ready ({exit_status(self._proc.returncode)})",
                                    "Run generate.server.command by hand to see why (is the server installed, "
                                    "can it load the model, is the port free?).")
            try:
                get_json(f"{self.url}/models", timeout_s=5)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
                pass  # not listening yet, or still loading: poll again until the deadline
            if time.monotonic() > deadline:
                raise self._failure(
                    f"did not answer GET {self.url}/models within "
                    f"runtime.generate.server.ready_timeout_s={self.ready_timeout_s:g}s; stopped it",
                    "Check that the command listens on {port} on 127.0.0.1, or raise "
                    "runtime.generate.server.ready_timeout_s (a large model takes minutes to load).")
            time.sleep(POLL_S)

    def check_running(self) -> None:
        """Raise ServerError when the server has exited."""
        if self._proc.poll() is not None:
            raise self.died()

    async def watch(self) -> None:
        """Return when the server process exits (for a caller to stop waiting on its answers)."""
        while self._proc.poll() is None:
            await asyncio.sleep(POLL_S)

    def died(self) -> ServerError:
        return self._failure(f"stopped mid-run ({exit_status(self._proc.returncode)})",
                             "Look for an out-of-memory kill (dmesg, nvidia-smi) or a crash in the log; the "
                             "finished tasks are kept, so rerunning resumes from them.")

    def stop(self) -> None:
        """SIGTERM to the server's process group; SIGKILL to what is left after a grace period."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            _signal_group(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                pass  # it ignored SIGTERM: SIGKILL below
        _signal_group(self._proc.pid, signal.SIGKILL)  # children the server left behind, if any
        self._proc.wait()
        _wait_until_gone(self._proc.pid, STOP_GRACE_S)

    def _failure(self, what: str, advice: str) -> ServerError:
        return ServerError(f"the model server {what}.\ncommand: {self.command}\nlast lines of its log "
                           f"{self.log_path}:\n{self._log_tail()}\n{advice}")

    def _log_tail(self) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        return "\n".join(f"  | {line}" for line in lines) or "  (empty)"

    def _stop_on_sigterm(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._saved_handler = signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _wait_until_gone(pgid: int, timeout_s: float) -> None:
    """Return once no process of group `pgid` is left but zombies: a killed process lets go of its
    GPU memory and port only when it has exited, which SIGKILL's return does not wait for."""
    deadline = time.monotonic() + timeout_s
    while left := _live_members(pgid):
        if time.monotonic() > deadline:
            print(f"generate: warning: process(es) {', '.join(map(str, left))} of the model server's group {pgid} "
                  f"still run {timeout_s:g}s after SIGKILL (stuck in the kernel, a GPU driver call for one); "
                  "their GPU memory and port may not be free yet", file=sys.stderr, flush=True)
            return
        time.sleep(0.05)


def _live_members(pgid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _ppid, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except OSError:
            continue  # it exited while we looked
        if int(group) == pgid and state not in ("Z", "X"):
            members.append(int(stat.parent.name))
    return members


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass  # the group has no process left
