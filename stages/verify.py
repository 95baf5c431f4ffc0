"""DVC stage `verify`: label every seed and evolved answer by whether its code runs
(`python -m stages.verify`). `tests` mode asks the teacher for tests through its own call
ledger, `data/verify/llm_cache` (a DVC output can belong to one stage only, and the evolve
stage owns `data/llm_cache`)."""

from __future__ import annotations

from collections import Counter

from evolcoder.config import load_section
from evolcoder.llm.dry_run import teacher_provider
from evolcoder.jsonl import write_json
from evolcoder.llm import Ledger, LLMClient, LLMConfig
from evolcoder.verify.config import VerifyConfig
from evolcoder.verify.metrics import pass_rate_table, verify_metrics
from evolcoder.verify.records import Rows
from evolcoder.verify.teacher import AssertWriter
from evolcoder.verify.verify import LABELS, verify_answers
from stages import PARAMS_FILE, run_stage

SEED_FILE = "data/seed/seed.jsonl"
EVOL_DIR = "data/evol"
OUT_DIR = "data/verify/rows"
LEDGER_DIR = "data/verify/llm_cache"
METRICS_FILE = "metrics/verify.json"
PLOT_FILE = "data/verify/plots/pass_rate.json"


def main() -> None:
    config = load_section(PARAMS_FILE, "verify", VerifyConfig)
    rows = Rows.read(SEED_FILE, EVOL_DIR)
    answers = rows.answers()
    with Ledger(LEDGER_DIR) as ledger:  # opened in every mode: it is an output of the stage
        writer = assert_writer(ledger) if config.mode == "tests" else None
        labels = verify_answers(answers, config, writer)
    rows.write(OUT_DIR, labels)
    metrics = verify_metrics(answers, labels, config.mode)
    write_json(METRICS_FILE, metrics)
    write_json(PLOT_FILE, pass_rate_table(answers, labels))
    counts = Counter(label.verified for label in labels)
    print(f"verify ({config.mode}): {len(answers)} answers: "
          + ", ".join(f"{counts[label]} {label}" for label in LABELS)
          + f"; pass rate {metrics['pass_rate']} -> {OUT_DIR}")
    if writer:
        usage = writer.client.usage
        print(f"verify: this run sent {usage.calls} tests calls ({usage.failed} failed), "
              f"{usage.cached} came from the ledger {LEDGER_DIR}")


def assert_writer(ledger: Ledger) -> AssertWriter:
    """The teacher the `llm` params name (the dry-run provider included), through `ledger`."""
    llm = load_section(PARAMS_FILE, "llm", LLMConfig)
    return AssertWriter(LLMClient(llm, ledger, provider=teacher_provider(llm, ledger)), llm)


if __name__ == "__main__":
    run_stage("verify", main)
