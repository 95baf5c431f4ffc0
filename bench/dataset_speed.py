"""Dedupe plus decontamination throughput of the dataset stage, on 20,000 rows.

The rows are the real Code Alpaca 2k sample repeated with variations (an added requirement,
renamed identifiers, changed numbers, a few word swaps: some exact and near duplicates, most
new), with 1% of them benchmark problems. Decontamination runs against HumanEval, MBPP and
MBPP+; near-dedupe with the default MinHash LSH settings. The peer, measured in the same run
on 1,000 of the rows, is decontamination without the inverted index: each row's n-grams
intersected with every problem's. Target: all 20,000 rows in under 60 s on 2 cores.

    python -m bench.dataset_speed [--rows 20000]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time

from evolcoder.benchmarks import spec_of
from evolcoder.dataset.decontam import BenchmarkIndex, content_words, load_problems, ngrams
from evolcoder.dataset.dedupe import DedupeConfig, find_duplicates
from tests.support.data import SHARED_DATA

TARGET_S = 60.0
EXTRAS = ("Use no global variables.", "Add type hints.", "Explain the time complexity.",
          "Handle the empty input.", "Do it without recursion.", "Write tests for it with pytest.")


def variant(row: dict, rng: random.Random, copy: int) -> dict:
    """Copy 0 is the row itself; later copies are edited so that most become new rows."""
    if copy == 0:
        return row
    instruction, output = row["instruction"], row["output"]
    if rng.random() < 0.8:
        instruction = f"{instruction} {rng.choice(EXTRAS)} (variant {copy})"
    if rng.random() < 0.5:
        instruction = re.sub(r"\d+", lambda m: str(int(m.group()) + copy), instruction)
    output = re.sub(r"\b(result|arr|num|s|i)\b", lambda m: f"{m.group()}{copy}", output)
    return {"instruction": instruction, "input": row["input"], "output": output}


def make_rows(n: int, problems: list) -> list[dict]:
    rng = random.Random(0)
    sample = json.loads((SHARED_DATA / "code_alpaca_2k.json").read_text())
    rows = [variant(sample[i % len(sample)], rng, i // len(sample)) for i in range(n)]
    for i in rng.sample(range(n), n // 100):
        p = rng.choice(problems)
        rows[i] = {"instruction": p.prompt or p.text, "input": "", "output": p.reference}
    return rows


def naive_decontam(rows: list[dict], problems: list, n: int) -> int:
    tasks = [set(ngrams(content_words("\n".join(spec_of(p).decontam_texts(p))), n)) for p in problems]
    hits = 0
    for row in rows:
        grams = set(ngrams(content_words("\n".join(row.values())), n))
        hits += any(grams & task for task in tasks)
    return hits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    if not SHARED_DATA.is_dir():
        print(f"skipped: {SHARED_DATA} (the real data) is absent", file=sys.stderr)
        return 0
    started = time.perf_counter()
    problems = load_problems({"humaneval": None, "mbpp": SHARED_DATA / "mbpp_test.jsonl",
                              "mbppplus": SHARED_DATA / "mbppplus_399.jsonl"})
    index = BenchmarkIndex(problems)
    index_s = time.perf_counter() - started
    rows = make_rows(args.rows, problems)

    started = time.perf_counter()
    contaminated = sum(index.match((r["instruction"], r["input"], r["output"])) is not None for r in rows)
    decontam_s = time.perf_counter() - started
    started = time.perf_counter()
    duplicates = find_duplicates([f"{r['instruction']}\n{r['input']}" for r in rows], DedupeConfig())
    dedupe_s = time.perf_counter() - started
    total_s = index_s + decontam_s + dedupe_s

    peer_rows = rows[:1000]
    started = time.perf_counter()
    naive_decontam(peer_rows, problems, index.ngram)
    peer_rate = len(peer_rows) / (time.perf_counter() - started)
    rate = len(rows) / decontam_s
    exact = sum(d.kind == "exact" for d in duplicates)
    print(f"rows: {len(rows)}; contaminated {contaminated}; exact duplicates {exact}, "
          f"near {len(duplicates) - exact}")
    print(f"index of {len(problems)} problems: {index_s:.1f} s; decontamination {decontam_s:.1f} s "
          f"({rate:,.0f} rows/s); near+exact dedupe {dedupe_s:.1f} s ({len(rows) / dedupe_s:,.0f} rows/s)")
    print(f"dedupe + decontamination: {total_s:.1f} s = {len(rows) / total_s:,.0f} rows/s "
          f"(target < {TARGET_S:.0f} s: {'met' if total_s < TARGET_S else 'MISSED'})")
    print(f"decontamination vs the per-problem scan: {rate:,.0f} vs {peer_rate:,.0f} rows/s = {rate / peer_rate:.0f}x")
    return 0 if total_s < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
