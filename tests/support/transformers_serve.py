"""Hugging Face's OpenAI-compatible server, `transformers serve`, as a test fixture: a real server
the project did not write, serving a checkpoint on the CPU on a free loopback port.

The checkpoint gets a pass-through chat template (the messages' text, nothing around it), so the
model sees exactly the prompt the client sent, as the README tells users to serve a checkpoint.
Requests are counted from the server's access log.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.support.llm_server import free_port

PASS_THROUGH_TEMPLATE = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
CHAT_POST = '"POST /v1/chat/completions HTTP/1.1" 200'


def serveable_copy(checkpoint: Path, folder: Path) -> Path:
    """A copy of `checkpoint` whose tokenizer carries the pass-through chat template."""
    shutil.copytree(checkpoint, folder)
    config_file = folder / "tokenizer_config.json"
    config = json.loads(config_file.read_text())
    config["chat_template"] = PASS_THROUGH_TEMPLATE
    config_file.write_text(json.dumps(config, indent=2))
    return folder


def missing_requirement() -> str | None:
    """Why `transformers serve` cannot start here, or None."""
    if not (Path(sys.executable).parent / "transformers").is_file():
        return "the `transformers` command is not installed beside this Python"
    for module in ("fastapi", "uvicorn"):
        try:
            __import__(module)
        except ImportError:
            return f"`transformers serve` needs {module} (the transformers[serving] extra: pip install -e .)"
    return None


def serve_command(model: str, port: int | str) -> list[str]:
    """The command line of `transformers serve MODEL` on the CPU, on a loopback port."""
    return [str(Path(sys.executable).parent / "transformers"), "serve", model, "--host", "127.0.0.1",
            "--port", str(port), "--device", "cpu", "--log-level", "info"]


class TransformersServe:
    """`transformers serve MODEL --device cpu` in a subprocess; a context manager that waits for
    `/health` and stops the server on exit. `model` is the name requests must use."""

    def __init__(self, model_dir: Path, log_path: Path, start_timeout_s: float = 240.0) -> None:
        self.model = str(model_dir)
        self.log_path = log_path
        self.start_timeout_s = start_timeout_s
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> TransformersServe:
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(serve_command(self.model, self.port), stdout=log, stderr=subprocess.STDOUT)
        self._wait_healthy()
        return self

    def __exit__(self, *exc: object) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def chat_requests(self) -> int:
        """Chat completions answered so far, from the access log."""
        return self.log_path.read_text(errors="replace").count(CHAT_POST)

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"transformers serve exited with {self._proc.returncode}:\n{self._log_tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        self.__exit__()
        raise RuntimeError(f"transformers serve was not healthy within {self.start_timeout_s:g}s:\n{self._log_tail()}")

    def _log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]
