"""Shard planning, crash-safe shard files and the merge that never drops a task."""

import json

import pytest

from evolcoder.errors import EvolcoderError
from evolcoder.generate.shards import IncompleteGenerations, ShardBusy, ShardFile, merged_rows, parse_shard, plan_shards


def _row(task, sample=0):
    return {"task_id": task, "sample": sample, "prompt": "p", "response": f"r{task}{sample}",
            "finish_reason": "stop", "n_tokens": 3, "batch_shape": [2, 40], "batch_size": 2}


def test_plan_covers_every_task_once_and_balances_prompt_length():
    lengths = [100, 90, 80, 70, 60, 50, 40, 30, 20, 10, 5, 5]
    plan = plan_shards(lengths, 3)
    assert sorted(i for group in plan for i in group) == list(range(len(lengths)))
    loads = [sum(lengths[i] for i in group) for group in plan]
    assert max(loads) - min(loads) <= max(lengths) // 2
    assert all([lengths[i] for i in g] == sorted((lengths[i] for i in g), reverse=True) for g in plan)  # longest first


def test_plan_is_the_same_on_every_node_and_handles_more_shards_than_tasks():
    assert plan_shards([5, 5, 5], 2) == plan_shards([5, 5, 5], 2)
    assert sorted(map(len, plan_shards([1, 2], 4))) == [0, 0, 1, 1]


@pytest.mark.parametrize("spec", ["2/2", "1", "a/b", "-1/3"])
def test_bad_shard_spec_is_refused(spec):
    with pytest.raises(EvolcoderError, match="shard"):
        parse_shard(spec)


def test_parse_shard():
    assert parse_shard("3/8") == (3, 8)


def test_recover_drops_a_partial_line_and_tasks_with_missing_samples(tmp_path):
    path = tmp_path / "shard.jsonl"
    good = [_row("A", 0), _row("A", 1), _row("B", 0)]  # B lacks sample 1
    path.write_text("".join(json.dumps(r) + "\n" for r in good) + '{"task_id": "C", "sam')
    with ShardFile(path, n_samples=2) as shard:
        assert shard.recover() == {"A"}
        shard.append([_row("B", 0), _row("B", 1)])
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["task_id"], r["sample"]) for r in rows] == [("A", 0), ("A", 1), ("B", 0), ("B", 1)]


def test_a_shard_file_cannot_be_written_by_two_processes(tmp_path):
    with ShardFile(tmp_path / "s.jsonl", 1):
        with pytest.raises(ShardBusy, match="another process"):
            ShardFile(tmp_path / "s.jsonl", 1)


def test_merge_orders_rows_by_task_then_sample(tmp_path):
    (tmp_path / "0.jsonl").write_text(json.dumps(_row("B", 1)) + "\n" + json.dumps(_row("B", 0)) + "\n")
    (tmp_path / "1.jsonl").write_text(json.dumps(_row("A", 0)) + "\n" + json.dumps(_row("A", 1)) + "\n")
    rows = merged_rows([tmp_path / "0.jsonl", tmp_path / "1.jsonl"], ["A", "B"], 2)
    assert [(r["task_id"], r["sample"]) for r in rows] == [("A", 0), ("A", 1), ("B", 0), ("B", 1)]
    assert rows[0] == _row("A", 0)


def test_merge_fails_naming_the_missing_tasks(tmp_path):
    (tmp_path / "0.jsonl").write_text(json.dumps(_row("A", 0)) + "\n")
    with pytest.raises(IncompleteGenerations) as e:
        merged_rows([tmp_path / "0.jsonl", tmp_path / "1.jsonl"], ["A", "B", "C"], 1)
    assert "2 of 3" in str(e.value) and "B sample 0" in str(e.value) and "C sample 0" in str(e.value)


def test_merge_names_file_and_line_of_a_corrupt_shard_row(tmp_path):
    shard = tmp_path / "shard-0-of-1.jsonl"
    shard.write_text(json.dumps(_row("a")) + "\n{not json\n")
    with pytest.raises(EvolcoderError, match=r"shard-0-of-1\.jsonl:2: malformed JSON"):
        merged_rows([shard], ["a"], 1)
