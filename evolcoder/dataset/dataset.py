"""The instruction data set: the seed and chosen evolution rounds, filtered, decontaminated
and deduplicated, in a deterministic order.

Round 0 is the seed; `rounds: [0, 1, 2, 3]` is the paper's merge, and any other choice
(rounds 1..3 without the seed, the seed and round 1 only) is one change of that list.
Each row meets the checks in order: dry run, empty answer, non-code answer, verification
(the verify stage's label: `require_verified`, `drop_non_python`), length, contamination,
exact duplicate, near duplicate; the first that fails removes it, with that
reason, into the removed list. Duplicates keep the copy of the earliest round (then the
smallest id), so an evolved row never replaces the seed row it repeats.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tqdm import tqdm

from evolcoder.config import check
from evolcoder.dataset.decontam import BenchmarkIndex, DecontamConfig
from evolcoder.dataset.dedupe import DedupeConfig, find_duplicates
from evolcoder.dataset.filters import TokenCounter, is_empty, looks_like_code
from evolcoder.errors import EvolcoderError
from evolcoder.files.records import (DROPPED_BENCHMARK, LABEL_FIELDS, SEED_METHOD, SEED_ROUND, normalize_text,
                                     round_filename)
from evolcoder.jsonl import iter_jsonl

DRY_RUN = "dry-run"
REASONS = ("dry_run", "empty", "non_code", "unverified", "not_python", "too_long", "contaminated", "duplicate",
           "near_duplicate")
# The verify stage's labels (`files.records.LABELS`) that `require_verified` drops; training
# rows leave out the fields it adds (LABEL_FIELDS), so a verify change alone retrains nothing.
UNVERIFIED = ("failed", "timeout", "no_code")


@dataclass
class DatasetConfig:
    rounds: list[int] = field(default_factory=lambda: [0, 1, 2])
    length_counter: Literal["tokenizer", "estimate"] = "estimate"
    allow_dry_run: bool = True
    drop_non_code: bool = True
    require_verified: bool = False
    drop_non_python: bool = False
    dedupe: DedupeConfig = field(default_factory=DedupeConfig)
    decontam: DecontamConfig = field(default_factory=DecontamConfig)

    def __post_init__(self) -> None:
        check(bool(self.rounds), "dataset.rounds", "must name at least one round (0 is the seed)")
        check(len(set(self.rounds)) == len(self.rounds), "dataset.rounds", f"repeats a round: {self.rounds}")
        check(min(self.rounds) >= 0, "dataset.rounds", f"rounds are 0 (the seed) or more, got {self.rounds}")


@dataclass
class Dataset:
    """The training rows, the removed rows (each with `reason`), and row lengths in tokens."""

    train: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    tokens: dict[str, int]
    read_by_round: Counter = field(default_factory=Counter)


def round_path(evol_dir: str | Path, k: int) -> Path:
    return Path(evol_dir) / round_filename(k)


def read_rows(seed_path: str | Path, evol_dir: str | Path, rounds: Iterable[int]) -> list[dict[str, Any]]:
    """The rows of the chosen rounds, in the output schema; eliminated evolutions left out."""
    seed = _read_seed(seed_path)
    sources = {row["id"]: row["source"] for row in seed}
    rows = []
    for k in sorted(rounds):
        rows.extend(seed if k == SEED_ROUND else _read_round(round_path(evol_dir, k), k, sources))
    return rows


def _read_seed(path: str | Path) -> list[dict[str, Any]]:
    rows = []
    for lineno, value in iter_jsonl(path):
        if value is not None:
            where = f"{path}:{lineno}"
            rows.append(_row(value, where, SEED_ROUND, SEED_METHOD, _text(value, "source", where), None))
    return rows


def _read_round(path: Path, k: int, sources: dict[str, str]) -> list[dict[str, Any]]:
    if not path.is_file():
        raise EvolcoderError(
            f"{path} does not exist: dataset.rounds names round {k}, but the evolve stage has not "
            "written it (raise evolve's number of rounds, or drop the round from dataset.rounds)"
        )
    rows = []
    for lineno, value in iter_jsonl(path):
        where = f"{path}:{lineno}"
        if value is None or _get(value, "eliminated", where) is not None:
            continue
        if _get(value, "round", where) != k:
            raise EvolcoderError(f"{where}: record says round {value['round']!r} in the file of round {k}")
        root = _text(value, "root_id", where)
        if root not in sources:
            raise EvolcoderError(f"{where}: root_id {root!r} is not in the seed; rerun the evolve stage")
        llm = _get(value, "llm", where)
        if not isinstance(llm, dict) or not isinstance(llm.get("provider"), str):
            raise EvolcoderError(f"{where}: 'llm' must be an object with a 'provider' string")
        rows.append(_row(value, where, k, _text(value, "method", where), sources[root], llm["provider"]))
    return rows


def _row(value: dict, where: str, k: int, method: str, source: str, provider: str | None) -> dict[str, Any]:
    return {
        "id": _text(value, "id", where),
        "instruction": normalize_text(_text(value, "instruction", where)).strip(),
        "input": normalize_text(_text(value, "input", where) if value.get("input") is not None else "").strip(),
        "output": normalize_text(_text(value, "output", where)),
        "round": k,
        "method": method,
        "source": source,
        "provider": provider,
        **{key: value[key] for key in LABEL_FIELDS if key in value},
    }


def _get(value: Any, key: str, where: str) -> Any:
    if not isinstance(value, dict):
        raise EvolcoderError(f"{where}: expected a JSON object, got {type(value).__name__}")
    if key not in value:
        raise EvolcoderError(f"{where}: missing '{key}'")
    return value[key]


def _text(value: Any, key: str, where: str) -> str:
    text = _get(value, key, where)
    if not isinstance(text, str):
        raise EvolcoderError(f"{where}: '{key}' must be a string, got {type(text).__name__}")
    return text


def build_dataset(rows: list[dict[str, Any]], config: DatasetConfig, index: BenchmarkIndex,
                  counter: TokenCounter, max_tokens: int) -> Dataset:
    """Filter, decontaminate and dedupe `rows` (see the module docstring)."""
    rows = sorted(rows, key=lambda r: (r["round"], r["id"]))
    _check_unique_ids(rows)
    removed: list[dict[str, Any]] = []
    tokens: dict[str, int] = {}
    survivors = []
    for row in tqdm(rows, desc="filter+decontam", unit="row", disable=None):
        drop = _filter(row, config, counter, max_tokens, tokens) or _contamination(row, index)
        if drop:
            removed.append({**row, **drop})
        else:
            survivors.append(row)
    texts = [f"{r['instruction']}\n{r['input']}" for r in survivors]
    duplicates = {d.index: d for d in find_duplicates(texts, config.dedupe)}
    train = []
    for i, row in enumerate(survivors):
        if i in duplicates:
            d = duplicates[i]
            reason = "duplicate" if d.kind == "exact" else "near_duplicate"
            removed.append({**row, "reason": reason, "detail": {"of": survivors[d.of]["id"], "similarity": d.similarity}})
        else:
            train.append({key: v for key, v in row.items() if key not in LABEL_FIELDS})
    removed.sort(key=lambda r: (r["round"], r["id"]))
    return Dataset(train, removed, tokens, Counter(r["round"] for r in rows))


def _check_unique_ids(rows: list[dict[str, Any]]) -> None:
    repeated = [i for i, n in Counter(r["id"] for r in rows).items() if n > 1]
    if repeated:
        raise EvolcoderError(f"row ids repeat across the seed and rounds: {repeated[:5]}; rerun the seed and evolve stages")


def _filter(row: dict, config: DatasetConfig, counter: TokenCounter, max_tokens: int,
            tokens: dict[str, int]) -> dict[str, Any] | None:
    if not config.allow_dry_run and row["provider"] == DRY_RUN:
        return {"reason": "dry_run", "detail": {}}
    if is_empty(row["instruction"]) or is_empty(row["output"]):
        return {"reason": "empty", "detail": {"field": "instruction" if is_empty(row["instruction"]) else "output"}}
    if config.drop_non_code and not looks_like_code(row["output"]):
        return {"reason": "non_code", "detail": {}}
    if config.require_verified or config.drop_non_python:
        label = _verified(row)
        if config.require_verified and label in UNVERIFIED:
            return {"reason": "unverified", "detail": {"verified": label}}
        if config.drop_non_python and label == "not_python":
            return {"reason": "not_python", "detail": {"verified": label}}
    tokens[row["id"]] = n = counter.example_tokens(row)
    if n > max_tokens:
        return {"reason": "too_long", "detail": {"tokens": n, "max_tokens": max_tokens, "counter": counter.name}}
    return None


def _verified(row: dict) -> str:
    if "verified" not in row:
        raise EvolcoderError(f"row {row['id']} of round {row['round']} has no 'verified' label: "
                             "dataset.require_verified and dataset.drop_non_python read the verify stage's rows")
    return row["verified"]


def _contamination(row: dict, index: BenchmarkIndex) -> dict[str, Any] | None:
    found = index.match((row["instruction"], row["input"], row["output"]))
    return {"reason": "contaminated", "detail": found.as_record()} if found else None


def dataset_metrics(data: Dataset, config: DatasetConfig, counter: TokenCounter,
                    decontaminated: Iterable[str]) -> dict[str, Any]:
    """Flat metrics with stable keys: rows by round and method, drops by reason and by each
    benchmark decontaminated against (`dropped_benchmark_<name>`, 0 included), mean lengths
    (instruction and answer in words, whole example in tokens)."""
    train = data.train
    metrics: dict[str, Any] = {"rows": len(train), "rows_read": sum(data.read_by_round.values()),
                               "dropped": len(data.removed)}
    by_round = Counter(r["round"] for r in train)
    for k in sorted(config.rounds):
        metrics[f"rows_round_{k}"] = by_round[k]
        metrics[f"rows_read_round_{k}"] = data.read_by_round[k]
    for method, n in sorted(Counter(r["method"] for r in train).items()):
        metrics[f"rows_method_{method}"] = n
    metrics["rows_dry_run"] = sum(r["provider"] == DRY_RUN for r in train)
    reasons = Counter(r["reason"] for r in data.removed)
    metrics.update({f"dropped_{reason}": reasons[reason] for reason in REASONS})
    benchmarks = Counter(r["detail"]["benchmark"] for r in data.removed if r["reason"] == "contaminated")
    metrics.update({f"{DROPPED_BENCHMARK}{b}": benchmarks[b] for b in decontaminated})
    metrics["mean_instruction_words"] = _mean(words(r["instruction"]) for r in train)
    metrics["mean_output_words"] = _mean(words(r["output"]) for r in train)
    metrics["mean_tokens"] = _mean(data.tokens[r["id"]] for r in train)
    metrics["tokens_estimated"] = int(counter.name.startswith("estimate"))
    for k in sorted(config.rounds):
        metrics[f"mean_instruction_words_round_{k}"] = _mean(words(r["instruction"]) for r in train if r["round"] == k)
    return metrics


def composition_table(train: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows by round and method, for a bar plot."""
    counts = Counter((r["round"], r["method"]) for r in train)
    return [{"group": f"round {k} {m}", "round": k, "method": m, "rows": n} for (k, m), n in sorted(counts.items())]


def instruction_length_table(train: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Instruction length in words by round: mean, median and 90th percentile."""
    table = []
    for k in sorted({r["round"] for r in train}):
        lengths = sorted(words(r["instruction"]) for r in train if r["round"] == k)
        table.append({
            "round": k,
            "mean_words": round(statistics.fmean(lengths), 2),
            "median_words": statistics.median(lengths),
            "p90_words": lengths[int(0.9 * (len(lengths) - 1))],
        })
    return table


def words(text: str) -> int:
    return len(text.split())


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return round(statistics.fmean(values), 2) if values else 0.0
