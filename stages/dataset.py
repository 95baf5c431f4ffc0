"""DVC stage `dataset`: merge the seed and chosen rounds (the verify stage's labelled copies in
data/verify/rows/), filter, decontaminate, dedupe.

It decontaminates against every scored benchmark (the `benchmarks` list) but those in
`dataset.decontam.skip`, and the extra `dataset.decontam.benchmarks`, each read from
data/benchmarks/<name>.jsonl (the folder is the stage's dependency).
"""

from evolcoder.benchmarks import benchmark_file, enabled_benchmarks
from evolcoder.config import load_section
from evolcoder.dataset.dataset import (DatasetConfig, build_dataset, composition_table, dataset_metrics,
                                    instruction_length_table, read_rows)
from evolcoder.dataset.decontam import BenchmarkIndex, load_problems
from evolcoder.dataset.filters import ESTIMATE, tokenizer_counter
from evolcoder.jsonl import write_json, write_jsonl
from evolcoder.train.config import ModelConfig, TrainConfig
from stages import PARAMS_FILE, run_stage

OUT = "data/dataset"
VERIFIED_ROWS = "data/verify/rows"  # the verify stage's labelled copies of the seed and the rounds
# What `dvc exp show` compares; every counter (by round, method, reason, benchmark) is in
# data/dataset/stats.json.
HEADLINE = ("rows", "dropped", "dropped_contaminated", "rows_dry_run")


def main() -> None:
    config = load_section(PARAMS_FILE, "dataset", DatasetConfig)
    max_length = load_section(PARAMS_FILE, "train", TrainConfig).max_length
    counter = ESTIMATE
    if config.length_counter == "tokenizer":
        model = load_section(PARAMS_FILE, "model", ModelConfig)
        counter = tokenizer_counter(*model.pretrained_source("dataset.length_counter: tokenizer"))
    against = config.decontam.against(enabled_benchmarks(PARAMS_FILE))
    index = BenchmarkIndex(load_problems({name: benchmark_file(name) for name in against}), config.decontam.ngram,
                           config.decontam.signatures)
    rows = read_rows(f"{VERIFIED_ROWS}/seed.jsonl", VERIFIED_ROWS, config.rounds)
    data = build_dataset(rows, config, index, counter, max_length)
    write_jsonl(f"{OUT}/train.jsonl", data.train)
    write_jsonl(f"{OUT}/removed.jsonl", data.removed)
    write_json(f"{OUT}/plots/composition.json", composition_table(data.train))
    write_json(f"{OUT}/plots/instruction_length.json", instruction_length_table(data.train))
    metrics = dataset_metrics(data, config, counter, against)
    write_json(f"{OUT}/stats.json", metrics)
    write_json("metrics/dataset.json", {key: metrics[key] for key in HEADLINE})
    print(f"dataset: {metrics['rows']} rows from {metrics['rows_read']} (rounds {sorted(config.rounds)}); "
          f"dropped {metrics['dropped']}: {metrics['dropped_contaminated']} contaminated against "
          f"{', '.join(against) or 'nothing'}, {metrics['dropped_duplicate']} duplicates, "
          f"{metrics['dropped_near_duplicate']} near duplicates; lengths by {counter.name} -> {OUT}/train.jsonl")


if __name__ == "__main__":
    run_stage("dataset", main)
