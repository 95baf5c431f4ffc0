"""What the rows of the files passed between stages hold, and the rules that name them.

- The seed (`paths.SEED`, written by seed): `{id, instruction, input, output, source}`, the
  texts normalised by `normalize_text`, the id by `seed_id`.
- A round (`paths.EVOL/round_<k>.jsonl`, `round_filename`, written by evolve):
  `{id, parent_id, root_id, round, method, instruction, input, output, eliminated, error, llm}`;
  `eliminated` is null for a kept item, `llm` is `{provider, model, keys}`. The folder's
  `MANIFEST` lists the round files: `{rounds, provider, model, files: [{round, path, records, kept}]}`.
- The verified rows (`paths.VERIFIED`, written by verify): the seed as `SEED_ROWS` and the round
  files under their own names, every row with the `LABEL_FIELDS` added: `verified` (one of
  `LABELS`) and `verify_detail`.
- The dataset's stats (`paths.DATASET_STATS`): `DROPPED_BENCHMARK + <name>` counts the rows
  dropped as contaminated by each benchmark decontaminated against.
"""

from __future__ import annotations

import hashlib

SEED_ROUND = 0  # the seed is round 0 wherever rounds are listed (dataset.rounds)
SEED_METHOD = "seed"  # the method of a seed row
MANIFEST = "manifest.json"
ROUND_FILES = "round_*.jsonl"  # the glob of round_filename's names
SEED_ROWS = "seed.jsonl"
LABELS = ("passed", "failed", "timeout", "no_code", "not_python", "skipped")
LABEL_FIELDS = ("verified", "verify_detail")
DROPPED_BENCHMARK = "dropped_benchmark_"


def round_filename(k: int) -> str:
    """The name of round `k`'s record file, in the evolve stage's folder and the verified rows."""
    return f"round_{k}.jsonl"


def normalize_text(text: str) -> str:
    """Unix line endings, no trailing spaces, no leading or trailing blank lines."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def seed_id(instruction: str, input: str) -> str:
    """A seed record's stable id: the first 16 hex digits of sha256(instruction, input)."""
    return hashlib.sha256(f"{instruction}\x00{input}".encode()).hexdigest()[:16]
