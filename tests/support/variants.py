"""Wrong variants of a benchmark's canonical solution, for the parity tests against EvalPlus.

Each wraps the canonical function, so it is never slower than the canonical solution, and
fails in a way that depends only on the inputs, never on timing or hash seeds (inputs are
told apart by the characters of their repr, which a set's order does not change):
`off_by_one` shifts the output of about a third of the inputs (so the first failing input
varies), `wrong_type` returns the right value in another type, and `partial` knows only
the base inputs' answers: right on the base tests, wrong on the plus tests.
"""

from __future__ import annotations

from evolcoder.benchmarks import Problem, spec_of

_OFF = '''
def _off(x):
    if isinstance(x, bool):
        return not x
    if isinstance(x, (int, float)):
        return x + 1
    if isinstance(x, str):
        return x + "!"
    if isinstance(x, (list, tuple)):
        return x[:-1] if x else type(x)([0])
    return None
'''

BODIES = {
    "off_by_one": "    size = len(repr(args))\n    out = _right(*args)\n    return _off(out) if size % 3 == 1 else out\n",
    "wrong_type": "    out = _right(*args)\n    return list(out) if isinstance(out, tuple) else (out,)\n",
    "partial": "    return _right(*args) if ''.join(sorted(repr(args))) in _KNOWN else None\n",
}


def variants(problem: Problem) -> dict[str, str]:
    """{"canonical": the reference program, and one program per wrong variant}."""
    canonical, ep = problem.reference, problem.entry_point
    known = {"".join(sorted(repr(tuple(args)))) for args in spec_of(problem).inputs(problem)["base"]}
    # sorted: the same program text whatever the hash seed (tests/golden/ is keyed by its sha256)
    head = f"{canonical}\n{_OFF}\n_KNOWN = set({sorted(known)!r})\n_right = {ep}\n\ndef {ep}(*args):\n"
    return {"canonical": canonical, **{name: head + body for name, body in BODIES.items()}}
