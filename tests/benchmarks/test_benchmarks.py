"""Benchmark loaders: one Problem type from every source, and clear errors offline."""

import json
import subprocess
import sys

import pytest

from tests.support.data import REPO_ROOT, shared_file
from evolcoder.benchmarks import BENCHMARKS, BenchmarkUnavailable, get, load_benchmark, load_enabled_benchmark, names
from evolcoder.download import DownloadError
from evolcoder.errors import EvolcoderError, UnknownBenchmark
from evolcoder.jsonl import InputError, write_jsonl


def test_humaneval_from_the_package():
    problems = load_benchmark("humaneval")
    assert len(problems) == 164
    first = problems[0]
    assert first.task_id == "HumanEval/0" and first.entry_point == "has_close_elements"
    assert "def check(candidate)" in first.test
    assert first.reference.startswith(first.prompt)


@pytest.mark.parametrize("name", ["mbpp_test.jsonl", "mbpp.jsonl"])
def test_mbpp_is_the_500_test_tasks(shared_data, name):
    problems = load_benchmark("mbpp", str(shared_file(name)))
    assert [p.task_id for p in problems] == [f"Mbpp/{i}" for i in range(11, 511)]
    for p in problems:
        assert len(p.test_list) >= 3 and p.text
        assert f"def {p.entry_point}" in p.canonical_solution, p.task_id


def test_mbppplus_local_file(shared_data):
    problems = load_benchmark("mbppplus", str(shared_file("mbppplus_399.jsonl")))
    assert len(problems) == 399
    p = problems[0]
    assert p.task_id == "Mbpp/2" and p.entry_point == "similar_elements"
    assert p.base_inputs and p.plus_inputs and p.assertion.strip().startswith("assert")
    assert p.text.startswith("Write a function")


def test_humanevalplus_local_file_in_evalplus_format(tmp_path):
    row = {"task_id": "HumanEval/0", "prompt": "def f(x):\n", "entry_point": "f",
           "canonical_solution": "    return x\n", "base_input": [[1]], "plus_input": [[2]], "atol": 0,
           "contract": "", "test": ""}
    path = tmp_path / "he.jsonl"
    path.write_text(json.dumps(row) + "\n")
    (problem,) = load_benchmark("humanevalplus", str(path))
    assert problem.benchmark == "humanevalplus" and get(problem.benchmark).compares_outputs
    assert problem.reference == "def f(x):\n    return x\n"


def test_mbpp_local_ids_in_evalplus_spelling_load_and_a_missing_id_is_named(tmp_path):
    row = {"text": "Add two numbers.", "code": "def add(a, b):\n    return a + b\n",
           "test_list": ["assert add(1, 2) == 3"]}
    path = tmp_path / "mbpp.jsonl"
    path.write_text("".join(json.dumps({"task_id": t, **row}) + "\n" for t in ("Mbpp/12", "Mbpp/11", "Mbpp/600")))
    assert [p.task_id for p in load_benchmark("mbpp", str(path))] == ["Mbpp/11", "Mbpp/12"]
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(InputError, match=r"mbpp\.jsonl: task \? has no 'task_id'"):
        load_benchmark("mbpp", str(path))


def test_missing_local_file_is_a_clear_error(tmp_path):
    with pytest.raises(BenchmarkUnavailable, match="benchmark file not found"):
        load_benchmark("mbpp", str(tmp_path / "absent.jsonl"))


def test_mbpp_hub_offline_is_a_clear_error(hub_offline):
    with pytest.raises(BenchmarkUnavailable,
                       match=r"Pass a local copy \(JSONL\) instead: --problems, or data/benchmarks/mbpp\.jsonl"):
        load_benchmark("mbpp")


def test_unknown_benchmark():
    with pytest.raises(ValueError, match="unknown benchmark 'apps'"):
        load_benchmark("apps")


@pytest.mark.parametrize("raw", [11, "11", "Mbpp/11", "MBPP/11"])
def test_mbpp_task_ids_normalised(raw):
    assert get("mbpp").task_id(raw) == "Mbpp/11"


def test_a_listed_benchmark_loads_from_its_pipeline_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("benchmarks: [humaneval, mbpp]\n")
    write_jsonl(tmp_path / "data/benchmarks/humaneval.jsonl", get("humaneval").public_rows()[:3])
    assert [p.task_id for p in load_enabled_benchmark("params.yaml", "humaneval")] == [f"HumanEval/{i}" for i in range(3)]
    with pytest.raises(BenchmarkUnavailable, match=r"data/benchmarks/mbpp.jsonl not found: add a fetch entry "
                                                   r"`mbpp: \{benchmark: mbpp, to: data/benchmarks/mbpp.jsonl\}`"):
        load_enabled_benchmark("params.yaml", "mbpp")
    with pytest.raises(EvolcoderError, match=r"'mbppplus' is not in params.yaml's benchmarks list \(listed: humaneval, mbpp\)"):
        load_enabled_benchmark("params.yaml", "mbppplus")
    (tmp_path / "params.yaml").write_text("benchmarks: [humaneval, apps]\n")
    with pytest.raises(EvolcoderError, match="benchmarks: unknown apps; choose from humaneval, "):
        load_enabled_benchmark("params.yaml", "humaneval")


@pytest.mark.parametrize("stage", ["generate", "evaluate"])
def test_per_benchmark_stage_without_its_argument_says_how_to_call_it(stage):
    done = subprocess.run([sys.executable, "-m", f"stages.{stage}"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"usage: python -m stages.{stage} <benchmark>" in done.stderr


def test_mbpp_valid_is_the_90_validation_tasks(shared_data):
    problems = load_benchmark("mbpp_valid", str(shared_file("mbpp.jsonl")))
    assert [p.task_id for p in problems] == [f"Mbpp/{i}" for i in range(511, 601)]
    mbpp = get("mbpp")
    assert get("mbpp_valid").prompt(problems[0]) == mbpp.prompt(problems[0])
    assert get("mbpp_valid").test_program(problems[0], "x = 1") == mbpp.test_program(problems[0], "x = 1")


def test_the_registry_holds_each_benchmark_in_table_order():
    assert names()[:5] == ["humaneval", "humanevalplus", "mbpp", "mbppplus", "mbpp_valid"]
    with pytest.raises(UnknownBenchmark, match="unknown benchmark 'apps'; choose one of humaneval, "):
        get("apps")
    assert [b.name for b in BENCHMARKS] == names()


@pytest.mark.parametrize("name", ["humaneval", "mbpp", "mbpp_valid"])
def test_every_canonical_program_passes_its_own_test_program(shared_data, name, tmp_path):
    from evolcoder.evaluate.config import EvaluateConfig, EvaluateRuntime
    from evolcoder.evaluate.evaluate import check_references

    path = None if name == "humaneval" else str(shared_file("mbpp.jsonl"))
    problems = load_benchmark(name, path)[:20]
    check_references(problems, EvaluateConfig(), EvaluateRuntime(workers=2, cache=False, cache_dir=str(tmp_path)))


def test_evalplus_versions_from_their_gzip_files_and_a_file_that_is_not_its_version(shared_data):
    assert len(load_benchmark("humanevalplus", str(shared_file("HumanEvalPlus-v0.1.10.jsonl.gz")), "v0.1.10")) == 164
    v020 = load_benchmark("mbppplus", str(shared_file("MbppPlus-v0.2.0.jsonl.gz")), "v0.2.0")
    old = load_benchmark("mbppplus", str(shared_file("mbppplus_399.jsonl")), "399")
    assert len(v020) == 378 and len(old) == 399 and {p.task_id for p in v020} < {p.task_id for p in old}
    with pytest.raises(BenchmarkUnavailable, match=r"399 tasks, but mbppplus v0\.2\.0 has 378"):
        load_benchmark("mbppplus", str(shared_file("mbppplus_399.jsonl")), "v0.2.0")
    with pytest.raises(BenchmarkUnavailable, match=r"mbppplus has no version 'v9' \(known: v0\.2\.0, 399\)"):
        load_benchmark("mbppplus", None, "v9")
    with pytest.raises(BenchmarkUnavailable, match="humaneval has no version 'v1'"):
        load_benchmark("humaneval", None, "v1")


def test_a_version_unreachable_names_its_download_and_what_to_pass_instead(monkeypatch):
    import urllib.request

    def offline(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DownloadError, match=r"could not download https://github.com/evalplus/mbppplus_release/"
                                            r"releases/download/v0.1.0/MbppPlus.jsonl.gz: .*local copy"):
        load_benchmark("mbppplus", None, "399")


def test_a_truncated_gzip_file_is_an_error_naming_it(tmp_path):
    import gzip

    path = tmp_path / "mbppplus.jsonl.gz"
    path.write_bytes(gzip.compress(shared_file("mbppplus_399.jsonl").read_bytes())[:5000])
    with pytest.raises(InputError, match=r"mbppplus\.jsonl\.gz: not a complete gzip file"):
        load_benchmark("mbppplus", str(path))
