"""EvalPlus's output comparison, as a trusted check function that runs inside the sandbox.

`compare_outputs` runs a candidate on one of a problem's input sets (a sandbox job per
set, as EvalPlus runs each set in a process of its own), each input under its own time
limit, and compares each output with the canonical solution's by EvalPlus's rules
(`evalplus.eval.unsafe_execute`): exact match, the special oracles of a few tasks, and
`np.allclose` with `atol` (1e-6 once a float is expected). It stops at the first failing
input, as EvalPlus's default `fast_check` does, and reports which one.

The per-input limit is CPU time (the load of the machine does not change it), with a
wall-clock backstop `wall_factor` times longer for inputs that sleep or block. The sandbox
child calls it as `fn(namespace, payload=...)`. Expected outputs come inline, or for huge
ones as offsets into the reference file, read one at a time as they are compared.
"""

from __future__ import annotations

import base64
import contextlib
import io
import pickle
import signal
from collections.abc import Iterator
from typing import Any

from evalplus.eval._special_oracle import (
    MBPP_OUTPUT_NOT_NONE_TASKS,
    MBPP_OUTPUT_SET_EQ_TASKS,
    _digit_distance_nums,
    _poly,
    _surface_Area,
)

COMPARE_CHECK = "evolcoder.evaluate.oracles:compare_outputs"


class InputTimeout(Exception):
    """One input ran past its time limit."""


def pack(value: Any) -> str:
    return base64.b64encode(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)).decode("ascii")


def unpack(text: str) -> Any:
    return pickle.loads(base64.b64decode(text))


def compare_outputs(namespace: dict, payload: str) -> dict[str, Any]:
    """'pass', or 'fail' with the first failing input and why.

    payload (packed): {"dataset": "humaneval"|"mbpp", "entry_point", "atol", "inputs",
    "time_limits" (CPU seconds per input), "wall_factor", and "expected" (a list) or
    "expected_file" and "offsets"}.
    A program that defines no entry point fails with no input named, as EvalPlus's
    `exec_globals[entry_point]` lookup does before its loop.
    """
    case = unpack(payload)
    if case["entry_point"] not in namespace:
        return _verdict("fail", None, f"no function {case['entry_point']!r} defined")
    with _expected_outputs(case) as expected:
        return _run_set(namespace[case["entry_point"]], case, expected)


@contextlib.contextmanager
def _expected_outputs(case: dict):
    """A function from input index to expected output."""
    if "expected" in case:
        yield case["expected"].__getitem__
        return
    with open(case["expected_file"], "rb") as f:
        offsets = case["offsets"]

        def read(i: int) -> Any:
            f.seek(offsets[i][0])
            return pickle.loads(f.read(offsets[i][1]))

        yield read


def _run_set(fn: Any, case: dict, expected: Any) -> dict[str, Any]:
    # EvalPlus's loop: stop at the first failing input; `atol` turns 1e-6 for the rest of the
    # set once a float output is expected (its variable is reassigned inside the loop).
    dataset, entry_point, atol = case["dataset"], case["entry_point"], case["atol"]
    for i, inp in enumerate(case["inputs"]):
        limit = case["time_limits"][i]
        try:
            with time_limit(limit, limit * case["wall_factor"]), quiet():
                out = fn(*inp)
            atol = _check_output(dataset, entry_point, inp, out, expected(i), atol)
        except InputTimeout:
            return _verdict("fail", i, f"timed out (CPU time limit {limit:.2f} s)", timed_out=True)
        except BaseException as e:  # noqa: BLE001 - any exception of the candidate is a failure
            return _verdict("fail", i, f"{type(e).__name__}: {e}"[:500])
    return _verdict("pass", None, "")


def _verdict(status: str, index: int | None, error: str, timed_out: bool = False) -> dict[str, Any]:
    return {"status": status, "input": index, "error": error, "timed_out": timed_out}


def _check_output(dataset: str, entry_point: str, inp: list, out: Any, exp: Any, atol: float) -> float:
    """Raise AssertionError unless `out` is right for `inp`; return the atol now in force."""
    exact_match = out == exp
    if dataset == "mbpp":
        exact_match = _mbpp_oracle(entry_point, inp, out, exp, atol, exact_match)
    if dataset == "humaneval" and entry_point == "find_zero":
        assert abs(_poly(*inp, out)) <= atol, "find_zero: not a root"
        return atol
    if atol == 0 and _is_floats(exp):
        atol = 1e-6
    if not exact_match and atol != 0:
        import numpy as np

        assert type(out) == type(exp), f"output type {type(out).__name__} != {type(exp).__name__}"  # noqa: E721
        if isinstance(exp, (list, tuple)):
            assert len(out) == len(exp), "output length differs"
        assert np.allclose(out, exp, rtol=1e-07, atol=atol), "output not close to expected"
    else:
        assert exact_match, "output differs from expected"
    return atol


def _mbpp_oracle(entry_point: str, inp: list, out: Any, exp: Any, atol: float, exact: Any) -> Any:
    if entry_point == "are_equivalent":  # Mbpp/164
        return True
    if entry_point == "sum_div":  # Mbpp/295
        return exact or out == 0
    if entry_point == "surface_Area":  # Mbpp/581
        return exact or abs(out - _surface_Area(*inp)) <= atol
    if entry_point == "digit_distance_nums":  # Mbpp/558
        return exact or out == _digit_distance_nums(*inp)
    if entry_point in MBPP_OUTPUT_SET_EQ_TASKS:
        return set(out) == set(exp)
    if entry_point in MBPP_OUTPUT_NOT_NONE_TASKS:
        return out == exp if isinstance(out, bool) else exp == (out is not None)
    return exact


def _is_floats(x: Any) -> bool:
    """EvalPlus's `is_floats`: a float, a non-empty list/tuple of floats, or a float array."""
    if isinstance(x, float):
        return True
    if isinstance(x, (list, tuple)) and x:
        return all(isinstance(i, float) for i in x)
    if type(x).__name__ == "ndarray":
        return str(x.dtype) in ("float64", "float32")
    return False


@contextlib.contextmanager
def time_limit(cpu_s: float, wall_s: float) -> Iterator[None]:
    """Raise InputTimeout in this (main) thread after `cpu_s` seconds of this process's CPU
    time (all its threads), or `wall_s` seconds of wall clock, whichever comes first."""
    def on_timer(signum: int, frame: Any) -> None:
        raise InputTimeout()

    previous = {sig: signal.signal(sig, on_timer) for sig in (signal.SIGPROF, signal.SIGALRM)}
    signal.setitimer(signal.ITIMER_PROF, cpu_s)
    signal.setitimer(signal.ITIMER_REAL, wall_s)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.setitimer(signal.ITIMER_PROF, 0)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow what the code prints, as EvalPlus's `swallow_io` does."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield
