"""EvalPlus's output comparison, as a trusted check function that runs inside the sandbox.

`compare_outputs` runs a candidate on a problem's input sets, each input under its own
time limit, and compares each output with the canonical solution's by EvalPlus's rules
(`evalplus.eval.unsafe_execute`): exact match, the special oracles of a few tasks, and
`np.allclose` with `atol` (1e-6 once a float is expected). The sandbox child calls it as
`fn(namespace, payload=...)`. Expected outputs come inline, or for huge ones as offsets
into the reference file, read one at a time as they are compared.
"""

from __future__ import annotations

import base64
import contextlib
import io
import pickle
import signal
import time
from collections.abc import Iterator
from typing import Any

from evalplus.eval._special_oracle import (
    MBPP_OUTPUT_NOT_NONE_TASKS,
    MBPP_OUTPUT_SET_EQ_TASKS,
    _digit_distance_nums,
    _poly,
    _surface_Area,
)

COMPARE_CHECK = "evolcoder.evaluation.oracles:compare_outputs"


class InputTimeout(Exception):
    """One input ran past its time limit."""


def pack(value: Any) -> str:
    return base64.b64encode(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)).decode("ascii")


def unpack(text: str) -> Any:
    return pickle.loads(base64.b64decode(text))


def compare_outputs(namespace: dict, payload: str) -> dict[str, Any]:
    """For each input set: 'pass', or 'fail' with the first failing input and why.

    payload (packed): {"dataset": "humaneval"|"mbpp", "entry_point", "atol", "sets": {name:
    {"inputs", "time_limits", "set_limit", and "expected" (a list) or "expected_file" and
    "offsets"}}}.
    A missing entry point fails every set, as EvalPlus's exec-then-lookup does.
    """
    spec = unpack(payload)
    fn = namespace.get(spec["entry_point"])
    report = {}
    for name, case in spec["sets"].items():
        if not callable(fn):
            report[name] = _verdict("fail", None, f"no function {spec['entry_point']!r} defined")
            continue
        with _expected_outputs(case) as expected:
            report[name] = _run_set(fn, spec["dataset"], spec["entry_point"], spec["atol"], case, expected)
    return report


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


def _run_set(fn: Any, dataset: str, entry_point: str, atol: float, case: dict, expected: Any) -> dict[str, Any]:
    # EvalPlus's loop: stop at the first failing input; `atol` turns 1e-6 for the rest of the
    # set once a float output is expected (its variable is reassigned inside the loop). The
    # set as a whole gets `set_limit` seconds, as EvalPlus's process for it does.
    end = time.monotonic() + case["set_limit"]
    for i, inp in enumerate(case["inputs"]):
        exp = expected(i)
        limit = min(case["time_limits"][i], end - time.monotonic())
        try:
            if limit <= 0:
                raise InputTimeout()
            with time_limit(limit), quiet():
                out = fn(*inp)
            atol = _check_output(dataset, entry_point, inp, out, exp, atol)
        except InputTimeout:
            return _verdict("fail", i, f"timed out (input limit {case['time_limits'][i]:.2f} s, "
                                       f"set limit {case['set_limit']:.1f} s)", timed_out=True)
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
def time_limit(seconds: float) -> Iterator[None]:
    """Raise InputTimeout in this (main) thread after `seconds` of wall-clock time."""
    def on_alarm(signum: int, frame: Any) -> None:
        raise InputTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow what the code prints, as EvalPlus's `swallow_io` does."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield
