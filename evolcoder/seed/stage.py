"""The seed stage: the seed instructions the evolution starts from (`python -m stages.seed`,
`evolcoder seed`)."""

from __future__ import annotations

from pathlib import Path

from evolcoder.config import load_section
from evolcoder.files.paths import SeedFiles
from evolcoder.jsonl import write_json, write_jsonl
from evolcoder.seed.seed import SeedConfig, make_seed

# What `dvc exp show` compares; every counter is in the stats file.
HEADLINE = ("n_written", "n_rejected")


def run(params: str | Path, files: SeedFiles = SeedFiles()) -> str:
    """Read `seed.source`, write the seed records, the rejects and the counters; return what to print."""
    config = load_section(params, "seed", SeedConfig)
    seed = make_seed(config)
    write_jsonl(files.records, seed.records)
    write_jsonl(files.rejects, ({"where": r.where, "error": r.error} for r in seed.rejects))
    write_json(files.stats, seed.stats)
    write_json(files.metrics, {key: seed.stats[key] for key in HEADLINE})
    return f"seed: {seed.stats['n_written']} records from {seed.stats['source']} -> {files.records}"
