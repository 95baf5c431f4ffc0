"""Parity with EvalPlus on every task of HumanEval+ v0.1.10, MBPP+ (399 tasks) and MBPP+ v0.2.0.

For each task, the canonical solution and three wrong variants (tests/variants.py) are scored
by our engine and by EvalPlus 0.3.1's own `python -m evalplus.evaluate`. Base and plus verdicts
must be equal, with no tolerance, and where both fail a set, so must the input that failed
first; a mismatch names the task, the variant and both verdicts.

EvalPlus runs with roomy time limits (--min-time-limit 20, --gt-time-limit-factor 40, and
EVALPLUS_TIMEOUT_PER_TASK 3600 s per input set instead of 60): its limits are wall clock, so on
a busy machine it fails slow canonical solutions (Mbpp/84's on one input, Mbpp/599's, 25 s of
CPU time, on its 60 s set cap, here), which would make this test measure the load rather than
the verdicts. Ours keep EvalPlus's defaults (1 s, 4x, 60 s), in CPU time, and must not time out
any of these programs.
Tasks with huge expected outputs (over 16 MB: Mbpp/255's are 360 MB) run apart, one sample at
a time, with a 16 GB memory limit: EvalPlus holds every expected output of a set in the
sample's process, which alone takes Mbpp/255's canonical solution past its 4 GB limit there,
and forks that process per sample and set. Ours read them one at a time within 4 GB.

The 378 tasks of MBPP+ v0.2.0 are all among the 399, with the same canonical solution, inputs
and tolerance (only prompts changed): their programs, inputs and expected outputs are the
same, so are their verdicts, and they run once for both versions.

EvalPlus's verdicts are kept in tests/golden/ (minutes of its run, on inputs that do not
change), keyed by its version and the sha256 of the data files and of the programs: ours are
computed on every run and compared with them. A new EvalPlus, data file or variant makes the
test fail until `python -m pytest tests/evaluate/test_parity.py --regenerate-golden` has run
EvalPlus again and rewritten the files.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from tests.support.data import REPO_ROOT, shared_file

from evolcoder.benchmarks import load_benchmark
from evolcoder.download import file_sha256
from evolcoder.jsonl import read_jsonl
from evolcoder.evaluate.config import EvaluateConfig, EvaluateRuntime
from evolcoder.evaluate.evaluate import INLINE_OUTPUT_BYTES, evaluate
from evolcoder.evaluate.references import load_references
from evolcoder.evaluate.samples import Sample
from tests.support.peers import evalplus_evaluate, golden_verdicts, peer_version, sha256_of
from tests.support.variants import variants

EVALPLUS_LIMITS = ("--min-time-limit", "20", "--gt-time-limit-factor", "40")
ROOMY_SETS = {"EVALPLUS_TIMEOUT_PER_TASK": "3600"}
ROOMY_MEMORY = {"EVALPLUS_MAX_MEMORY_BYTES": str(16 << 30)}
SCORING_FIELDS = ("task_id", "entry_point", "canonical_solution", "base_input", "plus_input", "atol")
VERDICT_FIELDS = ("base_status", "plus_status", "base_fail_tests", "plus_fail_tests")


def distinct_tasks(*files: str) -> tuple[list[dict], dict[str, int]]:
    """EvalPlus rows of every task in `files`, each distinct task once; and tasks per file."""
    rows: dict[str, dict] = {}
    counts = {}
    for name in files:
        file_rows = read_jsonl(shared_file(name))
        counts[name] = len(file_rows)
        for row in file_rows:
            known = rows.setdefault(row["task_id"], row)
            assert all(known[k] == row[k] for k in SCORING_FIELDS), f"{row['task_id']} differs between versions"
    return list(rows.values()), counts


def first_failing(row: dict, name: str) -> list:
    return json.loads(json.dumps(row[f"{name}_fail_tests"]))  # tuples as lists, as in a results file


def verdict(row: dict) -> tuple[bool, bool]:
    """(base passed, base and plus passed), EvalPlus's two scores."""
    return row["base_status"] == "pass", row["base_status"] == row["plus_status"] == "pass"


def evalplus_verdicts(dataset: str, rows: list[dict], problems, programs: list[tuple], config: EvaluateConfig,
                      runtime: EvaluateRuntime, workdir) -> dict:
    """EvalPlus's own run: task id -> its verdict fields for each program of the task, in order
    (tasks with huge expected outputs, by our references in `runtime`'s cache, run apart)."""
    references = load_references(problems, runtime.cache_path, runtime.n_workers, config.reference_timeout_s)
    huge = {t for t, ref in references.items() if sum(size for sets in ref.offsets.values() for _, size in sets)
            > INLINE_OUTPUT_BYTES}
    their_rows = [{"task_id": task_id, "solution": code} for task_id, _, _, code in programs]
    theirs = evalplus_evaluate(dataset, [r for r in rows if r["task_id"] not in huge], their_rows,
                               workdir / "evalplus", 2, EVALPLUS_LIMITS, ROOMY_SETS)
    if huge:
        theirs |= evalplus_evaluate(dataset, [r for r in rows if r["task_id"] in huge], their_rows,
                                    workdir / "evalplus-huge", 1, EVALPLUS_LIMITS, ROOMY_SETS | ROOMY_MEMORY)
    return {task_id: [{field: row[field] for field in VERDICT_FIELDS} for row in results]
            for task_id, results in theirs.items()}


@pytest.mark.slow
@pytest.mark.parametrize("benchmark, dataset, files", [
    ("humanevalplus", "humaneval", ("HumanEvalPlus-v0.1.10.jsonl.gz",)),
    ("mbppplus", "mbpp", ("mbppplus_399.jsonl", "MbppPlus-v0.2.0.jsonl.gz")),
], ids=["humanevalplus-v0.1.10", "mbppplus-399-and-v0.2.0"])
def test_every_task_scores_as_in_evalplus(benchmark, dataset, files, tmp_path, cache_dir, request):
    rows, per_file = distinct_tasks(*files)
    path = tmp_path / "problems.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    problems = load_benchmark(benchmark, str(path))
    programs = [(p.task_id, i, name, code) for p in problems for i, (name, code) in enumerate(variants(p).items())]
    samples = [Sample(task_id, i, "solution", code) for task_id, i, _, code in programs]
    config, runtime = EvaluateConfig(), EvaluateRuntime(workers=2, cache=False, cache_dir=str(cache_dir))
    ours = evaluate(problems, samples, config, runtime).rows

    key = {"peer": peer_version("evalplus"), "options": [EVALPLUS_LIMITS, ROOMY_SETS, ROOMY_MEMORY],
           "data_sha256": {name: file_sha256(shared_file(name)) for name in files},
           "programs_sha256": sha256_of([[task_id, code] for task_id, _, _, code in programs])}
    command = f"python -m pytest {request.path.relative_to(REPO_ROOT)} --regenerate-golden"
    theirs = golden_verdicts(f"evalplus-{request.node.callspec.id}", key,
                             lambda: evalplus_verdicts(dataset, rows, problems, programs, config, runtime, tmp_path),
                             request.config.getoption("--regenerate-golden"), command)

    mismatches = []
    for (task_id, i, variant, _), mine in zip(programs, ours):
        their = theirs[task_id][i]
        same_failure = all(first_failing(mine, s) == their[f"{s}_fail_tests"] for s in ("base", "plus")
                           if mine[f"{s}_status"] == their[f"{s}_status"] == "fail")
        if verdict(mine) != verdict(their) or not same_failure:
            mismatches.append(
                f"{task_id} {variant}: ours base {mine['base_status']} plus {mine['plus_status']} "
                f"(first failing {first_failing(mine, 'base')[:1]} / {first_failing(mine, 'plus')[:1]}; {mine['detail'][:200]}), "
                f"EvalPlus base {their['base_status']} plus {their['plus_status']} "
                f"(first failing {their['base_fail_tests'][:1]} / {their['plus_fail_tests'][:1]})")
    print(f"\n{benchmark}: {len(problems)} distinct tasks ({per_file}), {len(ours)} programs, "
          f"{len(ours) - len(mismatches)} equal verdicts, {len(mismatches)} mismatches")
    assert not mismatches, f"{len(mismatches)} verdicts differ from EvalPlus's:\n" + "\n".join(mismatches[:50])
    # Not vacuous: the canonical solutions pass, the wrong variants fail (a few are right by luck).
    by_variant = Counter((variant, verdict(row)[1]) for (_, _, variant, _), row in zip(programs, ours))
    assert by_variant[("canonical", True)] >= 0.95 * len(problems), by_variant
    for wrong in ("off_by_one", "wrong_type", "partial"):
        assert by_variant[(wrong, False)] >= 0.9 * len(problems), by_variant
