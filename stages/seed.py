"""DVC stage `seed`: the seed instructions the evolution starts from."""

from evolcoder.config import load_section
from evolcoder.seed.seed import SeedConfig, make_seed
from evolcoder.jsonl import write_json, write_jsonl
from stages import PARAMS_FILE, run_stage

# What `dvc exp show` compares; every counter is in data/seed/stats.json.
HEADLINE = ("n_written", "n_rejected")


def main() -> None:
    config = load_section(PARAMS_FILE, "seed", SeedConfig)
    seed = make_seed(config)
    write_jsonl("data/seed/seed.jsonl", seed.records)
    write_jsonl("data/seed/rejects.jsonl", ({"where": r.where, "error": r.error} for r in seed.rejects))
    write_json("data/seed/stats.json", seed.stats)
    write_json("metrics/seed.json", {key: seed.stats[key] for key in HEADLINE})
    print(f"seed: {seed.stats['n_written']} records from {seed.stats['source']} -> data/seed/seed.jsonl")


if __name__ == "__main__":
    run_stage("seed", main)
