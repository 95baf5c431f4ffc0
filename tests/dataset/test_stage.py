"""`python -m stages.dataset` (and `evolcoder dataset`) in a scratch project: outputs, metrics,
the knobs it reads from other sections, and a clear failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from evolcoder.benchmarks import get, load_benchmark
from evolcoder.cli import main
from evolcoder.jsonl import read_jsonl, write_jsonl
from tests.support.data import REPO_ROOT as REPO


PARAMS = """
benchmarks: [humaneval]
dataset:
  rounds: [0, 1]
model: {init: scratch}
train: {max_length: 512}
"""


def run_stage(workdir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "stages.dataset"], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=300)


def project(tmp_path: Path, params: str) -> Path:
    he0 = load_benchmark("humaneval")[0]
    (tmp_path / "params.yaml").write_text(params)
    write_jsonl(tmp_path / "data/benchmarks/humaneval.jsonl", get("humaneval").public_rows())
    write_jsonl(tmp_path / "data/verify/rows/seed.jsonl", [  # the verify stage's labelled copies
        {"id": "a", "instruction": "Reverse a string.", "input": "", "output": "def rev(s):\n    return s[::-1]", "source": "t"},
        {"id": "b", "instruction": "Complete this:\n" + he0.prompt, "input": "", "output": he0.canonical_solution, "source": "t"},
    ])
    write_jsonl(tmp_path / "data/verify/rows/round_1.jsonl", [
        {"id": "c", "parent_id": "a", "root_id": "a", "round": 1, "method": "deepening",
         "instruction": "Reverse a string without slicing and without reversed().", "input": "",
         "output": "def rev(s):\n    out = ''\n    for ch in s:\n        out = ch + out\n    return out",
         "eliminated": None, "llm": {"provider": "dry-run", "model": "dry-run", "keys": {}}},
    ])
    return tmp_path


def test_stage_writes_the_data_set_removed_rows_metrics_and_plots(tmp_path):
    workdir = project(tmp_path, PARAMS)
    done = run_stage(workdir)
    assert done.returncode == 0, done.stderr
    assert [r["id"] for r in read_jsonl(workdir / "data/dataset/train.jsonl")] == ["a", "c"]
    (removed,) = read_jsonl(workdir / "data/dataset/removed.jsonl")
    assert (removed["id"], removed["reason"], removed["detail"]["task_id"]) == ("b", "contaminated", "HumanEval/0")
    stats = json.loads((workdir / "data/dataset/stats.json").read_text())
    assert (stats["rows"], stats["dropped_benchmark_humaneval"], stats["rows_dry_run"]) == (2, 1, 1)
    headline = json.loads((workdir / "metrics/dataset.json").read_text())
    assert headline == {"rows": 2, "dropped": 1, "dropped_contaminated": 1, "rows_dry_run": 1}
    plots = json.loads((workdir / "data/dataset/plots/composition.json").read_text())
    assert [p["group"] for p in plots] == ["round 0 seed", "round 1 deepening"]
    assert "1 contaminated against humaneval" in done.stdout


def test_the_token_limit_and_the_tokenizer_come_from_the_train_and_model_params(tmp_path, monkeypatch, capsys):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))  # one token per word
    words.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(tokenizer_object=words, unk_token="[UNK]").save_pretrained(tmp_path / "base")
    params = PARAMS.replace("rounds: [0, 1]", "rounds: [0, 1]\n  length_counter: tokenizer")
    monkeypatch.chdir(project(tmp_path, params))
    assert main(["dataset"]) == 2  # a scratch model has no tokenizer before training
    assert "dataset.length_counter: tokenizer: needs model.init: pretrained" in capsys.readouterr().err

    params = params.replace("model: {init: scratch}", "model: {init: pretrained, name_or_path: base}")
    (tmp_path / "params.yaml").write_text(params.replace("max_length: 512", "max_length: 40"))
    assert main(["dataset"]) == 0
    assert "lengths by tokenizer:base@main" in capsys.readouterr().out
    too_long = {r["id"]: r["detail"] for r in read_jsonl(tmp_path / "data/dataset/removed.jsonl")
                if r["reason"] == "too_long"}
    assert {detail["max_tokens"] for detail in too_long.values()} == {40} and "c" in too_long


def test_an_unavailable_benchmark_stops_the_stage_with_what_to_do(tmp_path):
    params = PARAMS.replace("benchmarks: [humaneval]", "benchmarks: [humaneval, mbpp]")
    done = run_stage(project(tmp_path, params))
    assert done.returncode == 1
    assert "dataset: error: cannot load mbpp to decontaminate against it" in done.stderr
    assert "list mbpp under dataset.decontam.skip" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data/dataset/train.jsonl").exists()


def test_scoring_mbpp_cleans_the_training_set_of_its_problems(tmp_path, shared_data):
    mbpp_rows = [json.loads(line) for line in (shared_data / "mbpp_test.jsonl").read_text().splitlines()]
    workdir = project(tmp_path, PARAMS)
    write_jsonl(workdir / "data/benchmarks/mbpp.jsonl", mbpp_rows)
    planted = {"id": "m", "instruction": mbpp_rows[5]["text"], "input": "", "output": mbpp_rows[5]["code"], "source": "t"}
    write_jsonl(workdir / "data/verify/rows/seed.jsonl", [*read_jsonl(workdir / "data/verify/rows/seed.jsonl"), planted])
    assert run_stage(workdir).returncode == 0
    assert "m" in {r["id"] for r in read_jsonl(workdir / "data/dataset/train.jsonl")}
    (workdir / "params.yaml").write_text(PARAMS.replace("benchmarks: [humaneval]", "benchmarks: [humaneval, mbpp]"))
    assert run_stage(workdir).returncode == 0
    removed = {r["id"]: r for r in read_jsonl(workdir / "data/dataset/removed.jsonl")}
    assert (removed["m"]["reason"], removed["m"]["detail"]["task_id"]) == ("contaminated", "Mbpp/16")
    (workdir / "params.yaml").write_text(PARAMS.replace("benchmarks: [humaneval]", "benchmarks: [humaneval, mbpp]\n")
                                         .replace("rounds: [0, 1]", "rounds: [0, 1]\n  decontam: {skip: [mbpp]}"))
    assert run_stage(workdir).returncode == 0
    assert "m" in {r["id"] for r in read_jsonl(workdir / "data/dataset/train.jsonl")}
