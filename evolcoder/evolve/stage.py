"""The evolve stage: the run (`python -m stages.evolve`, `evolcoder evolve`) and its estimate
(`evolcoder evolve --estimate`).

A run writes its outputs only once every round has passed the failure policy (or was kept on
purpose with `evolve.on_failure: keep`): a run that fails, or that the budget stops, exits
non-zero with nothing written, so DVC locks nothing, while the ledger keeps every answered call
for the next run.
"""

from __future__ import annotations

from pathlib import Path

from evolcoder.config import load_runtime, load_section
from evolcoder.evolve.config import EvolveConfig
from evolcoder.llm.dry_run import teacher_provider
from evolcoder.evolve.estimate import format_estimate
from evolcoder.evolve.output import data_provider, evolve_metrics, write_rounds
from evolcoder.evolve.records import load_seed_pool
from evolcoder.evolve.rounds import Evolver
from evolcoder.files.paths import EvolveFiles
from evolcoder.jsonl import write_json
from evolcoder.llm import Ledger, LLMClient, LLMConfig, LLMRuntime
from evolcoder.llm.ledger import FILENAME as LEDGER_FILE

# What the metrics file holds; `on_failure` and `partial_rounds` say whether a round was kept
# partial on purpose.
HEADLINE = ("provider", "kept_total", "total.calls", "total.cost_usd", "partial_rounds", "on_failure")


def load_configs(params: str | Path) -> tuple[EvolveConfig, LLMConfig, LLMRuntime]:
    """The evolve and llm recipes and the llm runtime knobs (read first: it refuses one written in `llm`)."""
    runtime = load_runtime(params, "llm", LLMRuntime)
    return load_section(params, "evolve", EvolveConfig), load_section(params, "llm", LLMConfig), runtime


def run(params: str | Path, files: EvolveFiles = EvolveFiles()) -> str:
    """Run every round and write the outputs; return what to print (warnings for partial rounds,
    then a summary of the data and of what this run sent)."""
    config, llm, runtime = load_configs(params)
    pool = load_seed_pool(files.seed, config.limit)
    with Ledger(files.ledger) as ledger:
        client = LLMClient(llm, runtime, ledger, provider=teacher_provider(llm, runtime, ledger))
        evolver = Evolver(config, llm, client, {item.root_id: item.output for item in pool})
        rounds = evolver.run(pool)
    provider = data_provider(rounds, fallback=client.provider.name)
    write_rounds(files.out_dir, rounds, provider, llm.model)
    metrics = evolve_metrics(rounds, provider, llm.model, config, len(pool))
    write_json(files.stats, metrics)
    write_json(files.metrics, {key: metrics[key] for key in HEADLINE})
    usage = client.usage
    warnings = [f"evolve: warning: round {r.round} is kept as a partial round (evolve.on_failure: keep): "
                + "; ".join(r.breaches) for r in rounds if r.breaches]
    return "\n".join([*warnings, (
        f"evolve: {metrics['kept_total']} evolved instructions kept over {len(rounds)} rounds from {len(pool)} "
        f"seeds (provider {provider}, model {llm.model}); this run sent {usage.calls} calls ({usage.failed} failed, "
        f"{usage.retries} retries), {usage.cached} came from the ledger; the data cost ${usage.cost_usd:.4f}")])


def estimate(params: str | Path, files: EvolveFiles = EvolveFiles()) -> str:
    """The calls, tokens and USD a run would make, per round and in total; sends nothing."""
    config, llm, runtime = load_configs(params)
    pool = load_seed_pool(files.seed, config.limit)
    stats = {}
    if (files.ledger / LEDGER_FILE).is_file():  # an estimate never creates the ledger
        with Ledger(files.ledger) as ledger:
            stats = ledger.answer_stats(llm.model, "evolve")
    return format_estimate(pool, config, llm, runtime, stats)
