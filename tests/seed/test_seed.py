"""The seed stage: sources, normalisation, dedupe, and clear errors for bad input."""

import hashlib
import json
import subprocess
import sys

import pytest

from tests.support.data import REPO_ROOT, shared_file
from evolcoder.cli import main
from evolcoder.config import ConfigError
from evolcoder.files.records import seed_id
from evolcoder.seed.seed import SeedConfig, SeedSourceError, make_seed
from evolcoder.jsonl import InputError, read_jsonl


def jsonl(tmp_path, lines, name="rows.jsonl"):
    path = tmp_path / name
    path.write_bytes(b"\n".join(line if isinstance(line, bytes) else line.encode() for line in lines) + b"\n")
    return path


def row(instruction, input="", output="pass"):
    return json.dumps({"instruction": instruction, "input": input, "output": output})


def test_code_alpaca_json_list_loads_whole(shared_data):
    path = shared_file("code_alpaca_2k.json")
    seed = make_seed(SeedConfig(source=str(path), shuffle_seed=None))
    raw = json.loads(path.read_text())
    assert seed.stats["n_read"] == len(raw) == 2017
    assert seed.stats["n_written"] + seed.stats["n_duplicates"] + seed.stats["n_empty_instruction"] == 2017
    first = seed.records[0]
    assert first["instruction"] == raw[0]["instruction"].strip()
    assert first["id"] == seed_id(first["instruction"], first["input"])
    assert first["source"] == "code_alpaca_2k.json"
    assert set(first) == {"id", "instruction", "input", "output", "source"}


def test_jsonl_and_json_list_give_the_same_records(tmp_path, shared_data):
    raw = json.loads(shared_file("code_alpaca_2k.json").read_text())[:50]
    as_list = tmp_path / "a.json"
    as_list.write_text(json.dumps(raw, indent=1))
    as_lines = jsonl(tmp_path, [json.dumps(r) for r in raw], "a.jsonl")
    records = [make_seed(SeedConfig(source=str(p), shuffle_seed=None)).records for p in (as_list, as_lines)]
    assert [r["id"] for r in records[0]] == [r["id"] for r in records[1]]


def test_normalises_dedupes_and_drops_empty(tmp_path):
    path = jsonl(tmp_path, [
        row("  Sort a list.\r\n", output="def f(x):  \r\n    return sorted(x)\r\n\r\n"),
        row("Sort a list."),            # duplicate once normalised
        row("   "),                      # empty instruction
        row("Sort a list.", input="[3, 1]"),  # same instruction, other input: kept
    ])
    seed = make_seed(SeedConfig(source=str(path), shuffle_seed=None))
    assert [r["instruction"] for r in seed.records] == ["Sort a list.", "Sort a list."]
    assert seed.records[0]["output"] == "def f(x):\n    return sorted(x)"
    assert (seed.stats["n_duplicates"], seed.stats["n_empty_instruction"]) == (1, 1)


def test_ids_are_stable_and_shuffle_limit_reproducible(tmp_path):
    path = jsonl(tmp_path, [row(f"Task number {i}.") for i in range(30)])
    a = make_seed(SeedConfig(source=str(path), shuffle_seed=7, limit=10)).records
    b = make_seed(SeedConfig(source=str(path), shuffle_seed=7, limit=10)).records
    c = make_seed(SeedConfig(source=str(path), shuffle_seed=8, limit=10)).records
    assert a == b and len(a) == 10 and a != c
    assert a[0]["id"] == seed_id(a[0]["instruction"], "")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"instruction": "ok", ', r"rows\.jsonl:2: malformed JSON"),
        (b'{"input": "no instruction"}', r"rows\.jsonl:2: missing 'instruction'"),
        (b'{"instruction": "caf\xe9"}', r"rows\.jsonl:2: not valid UTF-8"),
        (b'{"instruction": 3}', r"rows\.jsonl:2: 'instruction' must be a string"),
        (b'["a list"]', r"rows\.jsonl:2: expected an object"),
    ],
)
def test_bad_row_fails_naming_file_and_line(tmp_path, line, message):
    path = jsonl(tmp_path, [row("fine"), line, row("also fine")])
    with pytest.raises(InputError, match=message):
        make_seed(SeedConfig(source=str(path)))


def test_bad_rows_skipped_and_counted_when_asked(tmp_path):
    path = jsonl(tmp_path, [row("fine"), b'{"oops', b'{"input": "x"}', b'{"instruction": "\xff"}', row("ok")])
    seed = make_seed(SeedConfig(source=str(path), on_error="skip", shuffle_seed=None))
    assert [r["instruction"] for r in seed.records] == ["fine", "ok"]
    assert seed.stats["n_rejected"] == 3
    assert [r.where.rsplit(":", 1)[1] for r in seed.rejects] == ["2", "3", "4"]


def test_json_list_item_errors_name_the_line(tmp_path):
    path = tmp_path / "list.json"
    path.write_text('[\n  {"instruction": "a"},\n  {"input": "b"}\n]\n')
    with pytest.raises(InputError, match=r"list\.json: item 1 \(line 3\): missing 'instruction'"):
        make_seed(SeedConfig(source=str(path)))


def test_missing_local_file_is_a_clear_error():
    with pytest.raises(SeedSourceError, match="'no/such/file.json' is not a file: give a local JSON list or JSONL"):
        make_seed(SeedConfig(source="no/such/file.json"))


@pytest.mark.parametrize("source", ["https://example.org/code_alpaca_20k.json", "hf:sahil2801/CodeAlpaca-20k"])
def test_a_remote_source_is_refused_pointing_at_the_fetch_params(source):
    with pytest.raises(ConfigError, match=r"seed.source: .* is not a local file: add it to the fetch params"):
        SeedConfig(source=source)


def test_the_source_file_hash_is_recorded(tmp_path):
    path = jsonl(tmp_path, [row("x")])
    assert make_seed(SeedConfig(source=str(path))).stats["source_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_builtin_seed_set_loads():
    seed = make_seed(SeedConfig())
    assert 60 <= seed.stats["n_written"] <= 100
    assert seed.stats["n_rejected"] == seed.stats["n_duplicates"] == 0
    assert all(r["source"] == "builtin_seeds.jsonl" and r["output"] for r in seed.records)


def run_stage(tmp_path, params):
    (tmp_path / "params.yaml").write_text(params)
    return subprocess.run(
        [sys.executable, "-m", "stages.seed"], cwd=tmp_path, capture_output=True, text=True,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_stage_writes_outputs_and_metrics(tmp_path):
    rows = jsonl(tmp_path, [row("a"), b"{bad", row("b")])
    done = run_stage(tmp_path, f"seed:\n  source: {rows}\n  on_error: skip\n  limit: 5\n")
    assert done.returncode == 0, done.stderr
    assert len(read_jsonl(tmp_path / "data/seed/seed.jsonl")) == 2
    assert read_jsonl(tmp_path / "data/seed/rejects.jsonl")[0]["where"].endswith(":2")
    assert json.loads((tmp_path / "metrics/seed.json").read_text()) == {"n_written": 2, "n_rejected": 1}
    stats = json.loads((tmp_path / "data/seed/stats.json").read_text())
    assert (stats["n_read"], stats["n_written"], stats["source"]) == (3, 2, "rows.jsonl")


def test_evolcoder_seed_writes_what_the_stage_writes(tmp_path, monkeypatch, capsys):
    rows = jsonl(tmp_path, [row("a"), row("b")])
    done = run_stage(tmp_path, f"seed:\n  source: {rows}\n")
    staged = {path: (tmp_path / path).read_bytes() for path in ("data/seed/seed.jsonl", "metrics/seed.json")}
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.chdir(other)
    assert main(["seed", "--params", str(tmp_path / "params.yaml")]) == 0
    assert {path: (other / path).read_bytes() for path in staged} == staged
    assert capsys.readouterr().out == done.stdout


def test_stage_error_is_one_line_and_writes_nothing(tmp_path):
    rows = jsonl(tmp_path, [row("a"), b"{bad"])
    done = run_stage(tmp_path, f"seed:\n  source: {rows}\n")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "rows.jsonl:2: malformed JSON" in done.stderr
    assert not (tmp_path / "data").exists() and not (tmp_path / "metrics").exists()


def test_stage_rejects_unknown_param(tmp_path):
    done = run_stage(tmp_path, "seed:\n  limt: 5\n")
    assert done.returncode == 1 and "unknown key seed.limt" in done.stderr
