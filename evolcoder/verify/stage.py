"""The verify stage: label every seed and evolved answer by whether its code runs
(`python -m stages.verify`, `evolcoder verify`). `tests` mode asks the teacher for tests through
the stage's own call ledger (a DVC output can belong to one stage only, and the evolve stage
owns its ledger)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from evolcoder.config import load_runtime, load_section
from evolcoder.files.paths import VerifyFiles
from evolcoder.files.records import LABELS
from evolcoder.jsonl import write_json
from evolcoder.llm import Ledger, LLMClient, LLMConfig, LLMRuntime
from evolcoder.llm.dry_run import teacher_provider
from evolcoder.verify.config import VerifyConfig, VerifyRuntime
from evolcoder.verify.metrics import pass_rate_table, verify_metrics
from evolcoder.verify.records import Rows
from evolcoder.verify.teacher import AssertWriter
from evolcoder.verify.verify import verify_answers


def run(params: str | Path, files: VerifyFiles = VerifyFiles()) -> str:
    """Label every answer and write the labelled rows, the metrics and the plot; return what to print."""
    runtime = load_runtime(params, "verify", VerifyRuntime)
    config = load_section(params, "verify", VerifyConfig)
    rows = Rows.read(files.seed, files.evol_dir)
    answers = rows.answers()
    with Ledger(files.ledger) as ledger:  # opened in every mode: it is an output of the stage
        writer = assert_writer(params, ledger) if config.mode == "tests" else None
        labels = verify_answers(answers, config, runtime, writer)
    rows.write(files.out_dir, labels)
    metrics = verify_metrics(answers, labels, config.mode)
    write_json(files.metrics, metrics)
    write_json(files.plot, pass_rate_table(answers, labels))
    counts = Counter(label.verified for label in labels)
    lines = [f"verify ({config.mode}): {len(answers)} answers: "
             + ", ".join(f"{counts[label]} {label}" for label in LABELS)
             + f"; pass rate {metrics['pass_rate']} -> {files.out_dir}"]
    if writer:
        usage = writer.client.usage
        lines.append(f"verify: this run sent {usage.calls} tests calls ({usage.failed} failed), "
                     f"{usage.cached} came from the ledger {files.ledger}")
    return "\n".join(lines)


def assert_writer(params: str | Path, ledger: Ledger) -> AssertWriter:
    """The teacher the `llm` params name (the dry-run provider included), through `ledger`."""
    runtime = load_runtime(params, "llm", LLMRuntime)  # first: it refuses a runtime knob written in `llm`
    llm = load_section(params, "llm", LLMConfig)
    return AssertWriter(LLMClient(llm, runtime, ledger, provider=teacher_provider(llm, runtime, ledger)), llm)
