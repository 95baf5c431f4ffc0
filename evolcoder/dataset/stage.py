"""The dataset stage: merge the seed and chosen rounds (the verify stage's labelled copies),
filter, decontaminate, dedupe (`python -m stages.dataset`, `evolcoder dataset`).

It decontaminates against every scored benchmark (the `benchmarks` list) but those in
`dataset.decontam.skip`, and the extra `dataset.decontam.benchmarks`, each read from its
problems file. Rows longer than `train.max_length` tokens are dropped, counted as
`dataset.length_counter` says (`tokenizer`: the pretrained model's of the `model` params).
"""

from __future__ import annotations

from pathlib import Path

from evolcoder.benchmarks import enabled_benchmarks
from evolcoder.config import load_section, load_value
from evolcoder.dataset.dataset import (DatasetConfig, build_dataset, composition_table, dataset_metrics,
                                       instruction_length_table, read_rows)
from evolcoder.dataset.decontam import BenchmarkIndex, load_problems
from evolcoder.dataset.filters import ESTIMATE, TokenCounter, tokenizer_counter
from evolcoder.files.paths import DatasetFiles, benchmark_problems
from evolcoder.files.records import SEED_ROWS
from evolcoder.jsonl import write_json, write_jsonl
from evolcoder.pretrained import pretrained_source

# What `dvc exp show` compares; every counter (by round, method, reason, benchmark) is in the stats.
HEADLINE = ("rows", "dropped", "dropped_contaminated", "rows_dry_run")


def run(params: str | Path, files: DatasetFiles = DatasetFiles()) -> str:
    """Build the training set and write it, the removed rows, the stats and the plots; return
    what to print."""
    config = load_section(params, "dataset", DatasetConfig)
    max_tokens = load_value(params, "train.max_length", int)
    counter = length_counter(params, config)
    against = config.decontam.against(enabled_benchmarks(params))
    index = BenchmarkIndex(load_problems({name: benchmark_problems(name) for name in against}), config.decontam.ngram,
                           config.decontam.signatures)
    rows = read_rows(files.verified / SEED_ROWS, files.verified, config.rounds)
    data = build_dataset(rows, config, index, counter, max_tokens)
    write_jsonl(files.train, data.train)
    write_jsonl(files.removed, data.removed)
    write_json(files.composition_plot, composition_table(data.train))
    write_json(files.instruction_length_plot, instruction_length_table(data.train))
    metrics = dataset_metrics(data, config, counter, against)
    write_json(files.stats, metrics)
    write_json(files.metrics, {key: metrics[key] for key in HEADLINE})
    return (f"dataset: {metrics['rows']} rows from {metrics['rows_read']} (rounds {sorted(config.rounds)}); "
            f"dropped {metrics['dropped']}: {metrics['dropped_contaminated']} contaminated against "
            f"{', '.join(against) or 'nothing'}, {metrics['dropped_duplicate']} duplicates, "
            f"{metrics['dropped_near_duplicate']} near duplicates; lengths by {counter.name} -> {files.train}")


def length_counter(params: str | Path, config: DatasetConfig) -> TokenCounter:
    """How row lengths are counted: estimated, or by the tokenizer of the `model` params' model."""
    if config.length_counter == "estimate":
        return ESTIMATE
    init, name, revision = (load_value(params, f"model.{key}", str | None, None)
                            for key in ("init", "name_or_path", "revision"))
    return tokenizer_counter(*pretrained_source(init, name, revision, "dataset.length_counter: tokenizer"))
