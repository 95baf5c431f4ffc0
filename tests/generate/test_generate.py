"""Generation on a tiny model: stop sequences, seeded sampling, sharding, both backends."""

import dataclasses
import json

import pytest
import torch

from evolcoder.config import ConfigError
from evolcoder.benchmarks import load_benchmark
from evolcoder.errors import EvolcoderError
from evolcoder.generate.config import GenerateConfig, GenerateRuntime
from evolcoder.generate.runner import generate_benchmark, make_jobs, prepare_work_dir, run_shard, shard_files
from evolcoder.generate.sampling import SeededSampler, sample_seed, top_p_filter
from evolcoder.generate.shards import merged_rows
from evolcoder.generate.stopping import StopSequences, trim_at_stop
from evolcoder.llm.config import LLMConfig
from tests.support.generate_settings import generate_settings


@pytest.fixture(scope="module")
def problems():
    return load_benchmark("humaneval")[:6]


def _config(checkpoint, **overrides) -> tuple[GenerateConfig, GenerateRuntime]:
    return generate_settings(**{"model": str(checkpoint), "max_new_tokens": 12, "batch_size": 4, **overrides})


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _text_of(row):
    """A row without the batch that produced it."""
    return {k: v for k, v in row.items() if k not in ("batch_shape", "batch_size")}


def test_trim_at_stop_cuts_at_the_earliest_stop_string():
    assert trim_at_stop("code\n### Instruction\nmore", ["\n### Instruction", "more"]) == ("code", True)
    assert trim_at_stop("all code", ["\n### Instruction"]) == ("all code", False)


def test_stop_sequences_stop_each_row_at_its_own_step(tiny_checkpoint):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_checkpoint)
    stop = StopSequences(tok, ["\n### Instruction"], prompt_length=1, batch_size=2, eos_token_id=tok.eos_token_id)
    first = tok("x = 1\n### Instruction")["input_ids"]
    running = tok("y = 2 + 3 + 4 + 5 + 6 + 7")["input_ids"][:len(first)]
    ids = torch.tensor([[0] + first, [0] + running])
    for step in range(1, ids.shape[1]):
        done = stop(ids[:, :step + 1], None)
    assert done.tolist() == [True, False]
    assert stop.lengths == [len(first), None]


def test_seeded_sampler_row_draws_do_not_depend_on_the_rest_of_the_batch():
    scores = torch.randn(3, 50, generator=torch.Generator().manual_seed(1))
    seeds = [sample_seed(0, t, 0) for t in ("A", "B", "C")]
    together = SeededSampler(seeds, 0.8, 0.95)(None, scores).argmax(-1)
    alone = SeededSampler(seeds[1:2], 0.8, 0.95)(None, scores[1:2]).argmax(-1)
    assert together[1] == alone[0]
    assert sample_seed(0, "A", 0) != sample_seed(0, "A", 1) != sample_seed(1, "A", 0)


def test_top_p_keeps_the_smallest_set_reaching_the_mass():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    assert top_p_filter(probs.clone(), 0.8).tolist() == pytest.approx([0.5, 0.3, 0.0, 0.0])


def test_greedy_with_several_samples_is_refused():
    with pytest.raises(ConfigError, match="generate.n_samples"):
        GenerateConfig(n_samples=2, temperature=0.0)


def test_generation_rows_cover_every_task_in_order(tiny_checkpoint, problems, tmp_path):
    out = tmp_path / "humaneval.jsonl"
    generate_benchmark(*_config(tiny_checkpoint), "humaneval", problems, out, tmp_path / "work")
    rows = _rows(out)
    assert [r["task_id"] for r in rows] == [p.task_id for p in problems]
    assert set(rows[0]) == {"task_id", "sample", "prompt", "response", "finish_reason", "n_tokens", "batch_shape",
                            "batch_size"}
    assert rows[0]["prompt"].endswith("### Response:") and "has_close_elements" in rows[0]["prompt"]
    assert all(r["finish_reason"] in ("stop", "length") and 1 <= r["n_tokens"] <= 12 for r in rows)
    # 6 tasks at 4 prompts per call: a call of 4 rows, then the shard's last call of 2
    assert sorted(r["batch_shape"][0] for r in rows) == [2, 2, 4, 4, 4, 4] and {r["batch_size"] for r in rows} == {4}


def test_sampling_is_the_same_whatever_the_batching_and_sharding(tiny_checkpoint, problems, tmp_path):
    config, runtime = _config(tiny_checkpoint, n_samples=3, temperature=0.8, top_p=0.95, seed=7)
    problems = problems[:4]
    generate_benchmark(config, runtime, "humaneval", problems, tmp_path / "one.jsonl", tmp_path / "w1")
    # Two shards of batch 1 (run one after the other, as on two nodes), then the merge.
    sharded = dataclasses.replace(runtime, num_shards=2, batch_size=1)
    jobs = make_jobs("humaneval", problems, tabs=False)
    prepare_work_dir(tmp_path / "w2", config, sharded, jobs)
    for index in range(2):
        run_shard(config, sharded, jobs, index, 2, tmp_path / "w2")
    two = merged_rows(shard_files(tmp_path / "w2", 2), [j.task_id for j in jobs], 3)
    one = _rows(tmp_path / "one.jsonl")
    assert [_text_of(r) for r in one] == [_text_of(r) for r in two]
    assert {tuple(r["batch_shape"])[0] for r in one} == {12} and {tuple(r["batch_shape"])[0] for r in two} == {3}
    assert len({r["response"] for r in one if r["task_id"] == problems[0].task_id}) > 1  # samples differ


def test_changed_settings_start_the_shard_files_afresh(tiny_checkpoint, problems, tmp_path):
    config, runtime = _config(tiny_checkpoint)
    generate_benchmark(config, runtime, "humaneval", problems, tmp_path / "a.jsonl", tmp_path / "work")
    longer = dataclasses.replace(config, max_new_tokens=20)
    generate_benchmark(longer, runtime, "humaneval", problems, tmp_path / "b.jsonl", tmp_path / "work")
    assert max(r["n_tokens"] for r in _rows(tmp_path / "b.jsonl")) > 12


def test_prompt_longer_than_the_model_is_a_clear_error(tiny_checkpoint, tmp_path):
    config = _config(tiny_checkpoint, max_new_tokens=1000)
    with pytest.raises(EvolcoderError, match="exceed the model's 1024 positions"):
        generate_benchmark(*config, "humaneval", load_benchmark("humaneval")[:1], tmp_path / "o.jsonl", tmp_path / "w")


def test_missing_checkpoint_says_what_to_do(tmp_path, problems):
    with pytest.raises(EvolcoderError, match="run the train stage first"):
        generate_benchmark(*_config(tmp_path / "nothing"), "humaneval", problems, tmp_path / "o.jsonl", tmp_path / "w")


def test_openai_backend_answers_through_the_ledger(llm_server, problems, tmp_path):
    server = LLMConfig(provider="openai", model="gpt-3.5-turbo", base_url=llm_server.url, api_key_env=None)
    config = generate_settings(backend="openai", server=server, n_samples=2, temperature=0.2, batch_size=4)
    generate_benchmark(*config, "humaneval", problems, tmp_path / "o.jsonl", tmp_path / "work")
    rows = _rows(tmp_path / "o.jsonl")
    assert len(rows) == 12 and all(r["response"].startswith("Answer ") for r in rows)
    calls = llm_server.stats()
    (tmp_path / "o.jsonl").unlink()
    (tmp_path / "work" / "shard-0-of-1.jsonl").unlink()  # lose the shard file: the ledger still answers
    generate_benchmark(*config, "humaneval", problems, tmp_path / "o.jsonl", tmp_path / "work")
    assert _rows(tmp_path / "o.jsonl") == rows
    assert llm_server.stats() == calls


def test_too_long_error_names_the_task_with_the_most_prompt_tokens(tiny_checkpoint):
    from evolcoder.generate.backend import Job
    from evolcoder.generate.hf_backend import TransformersBackend

    backend = TransformersBackend(*_config(tiny_checkpoint, max_new_tokens=500))
    few_chars_many_tokens = Job("A", "€" * 200)  # bytes the tokenizer never merged: 3 tokens a character
    many_chars_few_tokens = Job("B", "def " * 80)
    with pytest.raises(EvolcoderError, match=r"^task A: prompt \(\d+ tokens\)"):
        backend.generate([many_chars_few_tokens, few_chars_many_tokens])
