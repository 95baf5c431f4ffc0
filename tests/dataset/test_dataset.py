"""The dataset stage's library: merging the seed and rounds, filters, order, metrics, plots."""

from __future__ import annotations

import json

import pytest

from evolcoder.config import ConfigError
from evolcoder.dataset.dataset import (REASONS, DatasetConfig, build_dataset, composition_table, dataset_metrics,
                                    instruction_length_table, read_rows)
from evolcoder.dataset.decontam import BenchmarkIndex
from evolcoder.dataset.filters import ESTIMATE, TokenCounter, looks_like_code, tokenizer_counter
from evolcoder.errors import EvolcoderError
from evolcoder.jsonl import write_jsonl
from evolcoder.templates import alpaca_prompt

SEED = [
    {"id": "s1", "instruction": "Reverse a string.\r\n", "input": "", "output": "def rev(s):\r\n    return s[::-1]  \n",
     "source": "builtin"},
    {"id": "s2", "instruction": "Add two numbers.", "input": "a = 1", "output": "def add(a, b):\n    return a + b",
     "source": "builtin"},
]


def evolved(k: int, id: str, instruction: str, output: str = "x = 1", method: str = "deepening",
            provider: str = "openai", eliminated: str | None = None, root: str = "s1") -> dict:
    return {"id": id, "parent_id": root, "root_id": root, "round": k, "method": method,
            "instruction": instruction, "input": "", "output": output, "eliminated": eliminated,
            "llm": {"provider": provider, "model": "m", "keys": {}}}


@pytest.fixture
def inputs(tmp_path):
    write_jsonl(tmp_path / "seed.jsonl", SEED)
    write_jsonl(tmp_path / "evol" / "round_1.jsonl", [
        evolved(1, "e2", "Reverse a string without slicing, in O(n) time and O(1) extra space."),
        evolved(1, "e1", "Add two numbers given as decimal strings of any length.", root="s2", method="breadth"),
        evolved(1, "e3", "An eliminated try.", eliminated="no_change"),
    ])
    write_jsonl(tmp_path / "evol" / "round_2.jsonl", [
        evolved(2, "f1", "Reverse each word of a sentence, keeping the order of words and spaces.", provider="dry-run"),
    ])
    return tmp_path


def build(rows, **overrides):
    config = DatasetConfig(rounds=sorted({r["round"] for r in rows}), **overrides)
    return build_dataset(rows, config, BenchmarkIndex([]), ESTIMATE, max_tokens=2048), config


def test_seed_is_round_zero_and_rows_keep_the_output_schema(inputs):
    rows = read_rows(inputs / "seed.jsonl", inputs / "evol", [0, 1, 2])
    assert [(r["round"], r["id"]) for r in rows] == [(0, "s1"), (0, "s2"), (1, "e2"), (1, "e1"), (2, "f1")]
    assert rows[0] == {"id": "s1", "instruction": "Reverse a string.", "input": "",
                       "output": "def rev(s):\n    return s[::-1]", "round": 0, "method": "seed",
                       "source": "builtin", "provider": None}
    assert rows[3]["source"] == "builtin" and rows[3]["provider"] == "openai" and rows[3]["method"] == "breadth"


def test_each_merge_is_one_list(inputs):
    assert {r["round"] for r in read_rows(inputs / "seed.jsonl", inputs / "evol", [1, 2])} == {1, 2}
    assert {r["round"] for r in read_rows(inputs / "seed.jsonl", inputs / "evol", [0])} == {0}


def test_a_round_the_evolve_stage_did_not_write_fails_clearly(inputs):
    with pytest.raises(EvolcoderError, match=r"round_3.jsonl does not exist: dataset.rounds names round 3"):
        read_rows(inputs / "seed.jsonl", inputs / "evol", [0, 3])


def test_a_bad_round_record_names_file_and_line(inputs):
    write_jsonl(inputs / "evol" / "round_1.jsonl", [evolved(1, "e1", "ok"), {**evolved(1, "e2", "x"), "llm": None}])
    with pytest.raises(EvolcoderError, match=r"round_1.jsonl:2: 'llm' must be an object"):
        read_rows(inputs / "seed.jsonl", inputs / "evol", [1])


def test_rounds_config_is_checked():
    with pytest.raises(ConfigError, match="dataset.rounds"):
        DatasetConfig(rounds=[])
    with pytest.raises(ConfigError, match="repeats"):
        DatasetConfig(rounds=[1, 1])


def test_order_is_by_round_then_id_whatever_the_input_order(inputs):
    rows = read_rows(inputs / "seed.jsonl", inputs / "evol", [0, 1, 2])
    forward, _ = build(rows)
    backward, _ = build(rows[::-1])
    assert [r["id"] for r in forward.train] == [r["id"] for r in backward.train] == ["s1", "s2", "e1", "e2", "f1"]


def row(id: str, instruction: str, output: str = "print(1)", k: int = 0, provider: str | None = None) -> dict:
    return {"id": id, "instruction": instruction, "input": "", "output": output, "round": k,
            "method": "seed" if k == 0 else "deepening", "source": "t", "provider": provider}


def test_filters_and_dedupe_record_why_each_row_went():
    rows = [
        row("a", "Sum a list of integers."),
        row("b", "sum a LIST of integers.", k=1),                  # exact duplicate of a, later round
        row("c", "Explain recursion.", output="It is when a function calls itself."),
        row("d", "Write nothing.", output="  "),
        row("e", "Count vowels in a word.", k=2, provider="dry-run"),
        row("f", "Sort a list of pairs by the second item.", output="x = 1\n" * 2000),
    ]
    data, config = build(rows, allow_dry_run=False)
    assert [r["id"] for r in data.train] == ["a"]
    reasons = {r["id"]: r["reason"] for r in data.removed}
    assert reasons == {"b": "duplicate", "c": "non_code", "d": "empty", "e": "dry_run", "f": "too_long"}
    assert next(r for r in data.removed if r["id"] == "b")["detail"] == {"of": "a", "similarity": 1.0}
    assert next(r for r in data.removed if r["id"] == "f")["detail"]["tokens"] > 2048
    kept, _ = build(rows, allow_dry_run=True, drop_non_code=False)
    assert {"c", "e"} <= {r["id"] for r in kept.train}


def test_non_code_means_prose_only():
    assert not looks_like_code("The result of 1111 modulo 10 is 1.")
    for answer in ("SELECT name FROM t;", "numbers.sort(reverse=True)", "```\nls\n```", "x = 1", "    return 1"):
        assert looks_like_code(answer), answer


def test_length_counts_the_training_prompt_and_answer():
    counter = TokenCounter("chars", len)
    record = {"instruction": "Do it.", "input": "", "output": "abc"}
    assert counter.example_tokens(record) == len(alpaca_prompt("Do it.")) + 3 + 1


def test_the_tokenizer_counter_counts_with_the_models_tokenizer(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(tokenizer_object=words, unk_token="[UNK]").save_pretrained(tmp_path)
    counter = tokenizer_counter(str(tmp_path), None)
    assert counter.name == f"tokenizer:{tmp_path}@main"
    record = {"instruction": "Do it.", "input": "", "output": "x = 1"}
    assert counter.example_tokens(record) == len(alpaca_prompt("Do it.").split()) + 3 + 1


def test_a_tokenizer_that_cannot_be_loaded_fails_saying_how_to_get_it_never_an_estimate(hub_offline):
    with pytest.raises(EvolcoderError, match=r"tokenizer of 'no-org/no-such-model' \(revision abc\) cannot be loaded"
                                             r".*huggingface-cli login.*dataset.length_counter: estimate"):
        tokenizer_counter("no-org/no-such-model", "abc")


def test_metrics_have_stable_keys_and_plots_show_rounds(inputs):
    rows = read_rows(inputs / "seed.jsonl", inputs / "evol", [0, 1, 2])
    data, config = build(rows)
    metrics = dataset_metrics(data, config, ESTIMATE, ["humaneval"])
    assert metrics["rows"] == 5 and metrics["rows_read"] == 5
    assert (metrics["rows_round_0"], metrics["rows_round_1"], metrics["rows_round_2"]) == (2, 2, 1)
    assert metrics["rows_method_seed"] == 2 and metrics["rows_dry_run"] == 1
    assert all(metrics[f"dropped_{reason}"] == 0 for reason in REASONS)
    assert metrics["dropped_benchmark_humaneval"] == 0
    assert metrics["mean_instruction_words_round_1"] > metrics["mean_instruction_words_round_0"]
    assert json.loads(json.dumps(metrics)) == metrics
    assert {"group": "round 1 breadth", "round": 1, "method": "breadth", "rows": 1} in composition_table(data.train)
    assert [t["round"] for t in instruction_length_table(data.train)] == [0, 1, 2]


def test_output_loads_with_datasets(inputs):
    from datasets import load_dataset

    data, _ = build(read_rows(inputs / "seed.jsonl", inputs / "evol", [0, 1, 2]))
    write_jsonl(inputs / "train.jsonl", data.train)
    loaded = load_dataset("json", data_files=str(inputs / "train.jsonl"), split="train",
                          cache_dir=str(inputs / "hf-cache"))
    assert loaded.num_rows == 5
    assert loaded[0]["provider"] is None and loaded[4]["provider"] == "dry-run"
    assert set(loaded.column_names) == {"id", "instruction", "input", "output", "round", "method", "source", "provider"}
