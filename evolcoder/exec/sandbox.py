"""`Sandbox`: a pool of warm, isolated workers that run untrusted samples, one fork per sample."""

from __future__ import annotations

import importlib
import json
import logging
import os
import pickle
import select
import selectors
import subprocess
import sys
import time
from collections import deque
from collections.abc import Sequence

from tqdm import tqdm

from evolcoder.errors import EvolcoderError
from evolcoder.exec.confine import remove_cgroup
from evolcoder.exec.protocol import recv_frame, send_frame
from evolcoder.exec.types import Job, Limits, Outcome

log = logging.getLogger(__name__)

_START_TIMEOUT_S = 60.0
_GRACE_S = 10.0  # beyond a job's wall clock before the pool gives up on its worker
# Jobs handed to a worker ahead of time, so that it starts the next one the moment it
# answers, not a round trip through the pool later. Only frames this small are sent
# ahead: they fit the pipe's buffer, so sending never waits on a busy worker.
_QUEUED_JOBS = 2
_QUEUED_FRAME_BYTES = 32 << 10
# Only what a Python sample needs; no API keys or tokens from the caller's environment.
_KEPT_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")
HASH_SEED = "0"  # samples' PYTHONHASHSEED: set orders, hence outputs, repeat from run to run
_PINNED_ENV = {
    "PYTHONHASHSEED": HASH_SEED,
    "PYTHONDONTWRITEBYTECODE": "1",
    "OMP_NUM_THREADS": "1",  # a thread per core would hit the process budget
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def python_path() -> str:
    """This interpreter's import path as a PYTHONPATH for a new one: the same modules, found
    from any working directory (absolute, "" too: the job loop changes directory per job)."""
    return os.pathsep.join(os.path.abspath(p) for p in sys.path)


class WorkerError(EvolcoderError, RuntimeError):
    """A sandbox worker could not be started (a stage prints this as one line)."""


class _Worker:
    """One worker process and the two pipes that talk to its job loop."""

    def __init__(self, limits: Limits, namespaces: bool) -> None:
        requests_r, self.requests = os.pipe()
        self.answers, answers_w = os.pipe()
        config = {
            "fds": [requests_r, answers_w],
            "namespaces": namespaces,
            "tmpfs_mb": max(64, 4 * limits.file_size_mb),
        }
        env = {k: os.environ[k] for k in _KEPT_ENV if k in os.environ}
        env |= _PINNED_ENV | {"PYTHONPATH": python_path()}
        self._stopped = False
        self.cgroup: str | None = None
        self.process = subprocess.Popen(
            [sys.executable, "-m", "evolcoder.exec.worker", json.dumps(config)],
            pass_fds=(requests_r, answers_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # a Ctrl-C at the terminal reaches the pool, not the jobs
        )
        os.close(requests_r)
        os.close(answers_w)
        self.isolation = ""
        self.refused: dict[str, str] = {}
        self.queue: deque[tuple[int, float]] = deque()  # (index, wall_s) of the jobs sent, oldest first
        self.deadline = 0.0  # when the oldest job's answer is overdue

    def wait_ready(self) -> _Worker:
        """Wait for the job loop's first frame, which says what isolation the kernel allowed."""
        ready, _, _ = select.select([self.answers], [], [], _START_TIMEOUT_S)
        frame = recv_frame(self.answers) if ready else None
        if frame is None:
            self.stop(kill=True)
            raise WorkerError(
                f"sandbox worker (pid {self.process.pid}) did not start: exit status "
                f"{self.process.returncode}; its error output is above"
            )
        hello = json.loads(frame)
        self.isolation, self.refused, self.cgroup = hello["isolation"], hello["refused"], hello["cgroup"]
        return self

    def can_take(self, frame: bytes) -> bool:
        return not self.queue or (len(self.queue) < _QUEUED_JOBS and len(frame) <= _QUEUED_FRAME_BYTES)

    def submit(self, index: int, frame: bytes, wall_s: float) -> None:
        send_frame(self.requests, frame)
        if not self.queue:
            self.deadline = time.monotonic() + wall_s + _GRACE_S
        self.queue.append((index, wall_s))

    def answered(self) -> int:
        """The index of the job just answered; the next one starts its clock now."""
        index, _ = self.queue.popleft()
        if self.queue:
            self.deadline = time.monotonic() + self.queue[0][1] + _GRACE_S
        return index

    def answer(self) -> bytes | None:
        """The next answer frame, or None when the worker died."""
        try:
            return recv_frame(self.answers)
        except EOFError:
            return None

    def stop(self, kill: bool = False) -> int:
        """Close the pipes (the job loop exits at EOF) and wait; SIGKILL if asked or stuck."""
        if not self._stopped:
            self._stopped = True
            os.close(self.requests)
            os.close(self.answers)
        if kill:
            self.process.kill()
        try:
            self.process.wait(timeout=_GRACE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.cgroup:  # a killed worker cannot remove it; its namespaces died with it
            remove_cgroup(self.cgroup)
        return self.process.returncode


class Sandbox:
    """Run untrusted samples in isolated, forked children of a pool of warm workers.

    `isolation` names what the kernel allowed, e.g.
    "netns+cgroup-pids+mountns+pidns+own-uid+no-caps+no-sockets+rlimits" as root on Linux,
    or "no-caps+no-sockets+rlimits" as a user where namespaces are refused; `refused` says
    why each missing level was refused. `namespaces=False` skips namespaces and cgroups on
    purpose (the path of a container without privileges).
    """

    def __init__(
        self, workers: int | None = None, limits: Limits = Limits(), namespaces: bool = True
    ) -> None:
        self.limits = limits
        self._namespaces = namespaces
        count = workers if workers is not None else len(os.sched_getaffinity(0))
        if count < 1:
            raise ValueError(f"workers must be >= 1, got {count}")
        self._workers: list[_Worker] = []
        try:  # all start at once; then each says it is ready
            for _ in range(count):
                self._workers.append(_Worker(limits, namespaces))
            for worker in self._workers:
                worker.wait_ready()
        except BaseException:
            self.close()
            raise
        self.isolation: str = self._workers[0].isolation
        self.refused: dict[str, str] = self._workers[0].refused
        if self.refused:
            log.warning("sandbox isolation is %s; refused: %s", self.isolation, self.refused)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()

    def run(self, jobs: Sequence[Job], progress: bool = False, desc: str = "exec") -> list[Outcome]:
        """Run every job; outcomes in the order of `jobs`."""
        if not self._workers:
            raise RuntimeError("this Sandbox is closed")
        _check_importable(jobs)
        results: list[Outcome | None] = [None] * len(jobs)
        pending = deque(range(len(jobs)))
        frames: dict[int, bytes] = {}
        selector = selectors.DefaultSelector()
        for worker in self._workers:
            selector.register(worker.answers, selectors.EVENT_READ, worker)
        try:
            with tqdm(total=len(jobs), desc=desc, unit="sample", disable=not progress) as bar:
                while pending or any(w.queue for w in self._workers):
                    self._dispatch(jobs, pending, frames, selector)
                    for index, outcome in self._collect(pending, selector):
                        results[index] = outcome
                        bar.update()
        except BaseException:  # e.g. Ctrl-C: answers still in flight would reach the next run
            self.close()
            raise
        finally:
            selector.close()
        return results

    def _dispatch(self, jobs: Sequence[Job], pending: deque, frames: dict[int, bytes],
                  selector: selectors.BaseSelector) -> None:
        for worker in list(self._workers):
            while pending:
                index = pending[0]
                job = jobs[index]
                limits = job.limits or self.limits
                if index not in frames:
                    frames[index] = pickle.dumps((job, limits), protocol=pickle.HIGHEST_PROTOCOL)
                if not worker.can_take(frames[index]):
                    break
                try:
                    worker.submit(index, frames[index], limits.wall_s)
                except BrokenPipeError:  # it died; this job never started
                    if not worker.queue:  # else answering its jobs finds the death
                        self._replace(worker, selector)
                    break
                del frames[index]
                pending.popleft()

    def _collect(self, pending: deque, selector: selectors.BaseSelector) -> list[tuple[int, Outcome]]:
        """Wait for answers until the earliest deadline; (job index, outcome) pairs."""
        deadlines = [w.deadline for w in self._workers if w.queue]
        if not deadlines:  # a replaced worker is idle until the next dispatch
            return []
        done = []
        for key, _ in selector.select(max(0.0, min(deadlines) - time.monotonic())):
            worker = key.data
            frame = worker.answer()
            if frame is not None:
                done.append((worker.answered(), Outcome(**json.loads(frame))))
                continue
            status = worker.stop()
            if worker.queue:  # else it died idle, and no job is lost
                done.append((worker.answered(), Outcome("error", f"sandbox worker died (exit status {status})")))
            self._lost(worker, pending, selector)
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.queue and worker.deadline < now:
                worker.stop(kill=True)
                detail = f"sandbox worker stopped answering ({_GRACE_S}s past the wall clock); restarted"
                done.append((worker.answered(), Outcome("error", detail)))
                self._lost(worker, pending, selector)
        return done

    def _lost(self, worker: _Worker, pending: deque, selector: selectors.BaseSelector) -> None:
        """Replace a dead or stuck worker; the jobs it was sent but had not started go back first."""
        pending.extendleft(reversed([index for index, _ in worker.queue]))
        self._replace(worker, selector)

    def _replace(self, worker: _Worker, selector: selectors.BaseSelector) -> None:
        """Swap a dead or killed worker for a fresh one."""
        selector.unregister(worker.answers)
        worker.stop(kill=True)
        new = _Worker(self.limits, self._namespaces).wait_ready()
        self._workers[self._workers.index(worker)] = new
        selector.register(new.answers, selectors.EVENT_READ, new)


def _check_importable(jobs: Sequence[Job]) -> None:
    """Fail before running anything when a job names a check that cannot be imported."""
    for spec in {job.check for job in jobs if job.check}:
        module, sep, name = spec.partition(":")
        if not sep or not callable(getattr(importlib.import_module(module), name, None)):
            raise ValueError(f"Job.check {spec!r} is not 'package.module:function' naming a callable")
