"""DVC stage `evolve`: Evol-Instruct rounds over the seed set (`python -m stages.evolve`)."""

from __future__ import annotations

from evolcoder.config import load_section
from evolcoder.evol.config import EvolveConfig
from evolcoder.evol.dry_run import teacher_provider
from evolcoder.evol.output import data_provider, evolve_metrics, write_rounds
from evolcoder.evol.records import load_seed_pool
from evolcoder.evol.rounds import Evolver
from evolcoder.jsonl import write_json
from evolcoder.llm import Ledger, LLMClient, LLMConfig
from stages import PARAMS_FILE, run_stage

SEED_FILE = "data/seed/seed.jsonl"
OUT_DIR = "data/evol"
LEDGER_DIR = "data/llm_cache"
METRICS_FILE = "metrics/evolve.json"


def main() -> None:
    config = load_section(PARAMS_FILE, "evolve", EvolveConfig)
    llm = load_section(PARAMS_FILE, "llm", LLMConfig)
    pool = load_seed_pool(SEED_FILE, config.limit)
    with Ledger(LEDGER_DIR) as ledger:
        client = LLMClient(llm, ledger, provider=teacher_provider(llm, ledger))
        evolver = Evolver(config, llm, client, {item.root_id: item.output for item in pool})
        rounds = evolver.run(pool)
    provider = data_provider(rounds, fallback=client.provider.name)
    write_rounds(OUT_DIR, rounds, provider, llm.model)
    metrics = evolve_metrics(rounds, provider, llm.model, config.methods, len(pool))
    write_json(METRICS_FILE, metrics)
    usage = client.usage
    print(f"evolve: {metrics['kept_total']} evolved instructions kept over {len(rounds)} rounds "
          f"from {len(pool)} seeds (provider {provider}, model {llm.model}); this run sent "
          f"{usage.calls} calls ({usage.failed} failed, {usage.retries} retries), "
          f"{usage.cached} came from the ledger")


if __name__ == "__main__":
    run_stage("evolve", main)
