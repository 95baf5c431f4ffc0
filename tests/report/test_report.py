"""metrics/report.md from fixture metrics and a fixture dvc.lock."""

import json

import pytest

from evolcoder.errors import EvolcoderError
from evolcoder.report.report import dry_run_notice, passk_rows

LOCK = """\
schema: '2.0'
stages:
  train:
    cmd: python -m stages.train
    deps:
    - path: data/dataset/train.jsonl
      hash: md5
      md5: 0123456789abcdef0123456789abcdef
      size: 100
    outs:
    - path: models/checkpoint
      hash: md5
      md5: fedcba9876543210fedcba9876543210.dir
  generate@humaneval:
    cmd: python -m stages.generate humaneval
    deps:
    - path: data/benchmarks/humaneval.jsonl
      hash: md5
      md5: 11111111111111111111111111111111
    - path: models/checkpoint
      hash: md5
      md5: fedcba9876543210fedcba9876543210.dir
    - path: models/other-run
      hash: md5
      md5: 22222222222222222222222222222222.dir
"""
PARAMS = """\
benchmarks: [humaneval, mbpp]
generate: {model: models/checkpoint, temperature: 0.0, n_samples: 1}
train: {lr: 2.0e-05}
report: {profile: default}
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "metrics").mkdir()
    (tmp_path / "dvc.lock").write_text(LOCK)
    (tmp_path / "params.yaml").write_text(PARAMS)
    (tmp_path / "metrics/humaneval.json").write_text(json.dumps(
        {"pass@1": 0.25, "pass@10": 0.5, "n_tasks": 164, "n_samples": 1640}))
    (tmp_path / "metrics/mbpp.json").write_text(json.dumps({"pass@1": 0.125, "n_tasks": 500, "n_samples": 500}))
    (tmp_path / "data/dataset").mkdir(parents=True)
    (tmp_path / "data/dataset/stats.json").write_text(json.dumps(
        {"rows": 229, "rows_dry_run": 149, "dropped_benchmark_humaneval": 3}))
    (tmp_path / "metrics/evolve.json").write_text(json.dumps({"provider": "dry-run"}))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run_stage():
    from stages.report import main

    main()


def test_report_table_has_the_seed_shape_with_our_figures_beside_the_paper(project):
    _run_stage()
    report = (project / "metrics/report.md").read_text()
    assert "| Model | HumanEval | HumanEval+ | MBPP | MBPP+ |" in report
    assert "| **evolcoder (this run)** | 25.0 | - | 12.5 | - |" in report
    assert "| WizardCoder-15B-V1.0, paper (T=0.2, n=20) | 57.3 | - | 51.8 | - |" in report
    assert "| WizardCoder-15B-V1.0, greedy (seed table) | 59.8 | 52.4 | - | - |" in report


def test_report_names_the_model_and_dataset_hashes_behind_each_figure(project):
    _run_stage()
    report = (project / "metrics/report.md").read_text()
    assert ("| humaneval | 164 | 1640 | 25.0 | 50.0 | `models/checkpoint` | `fedcba9876543210fedcba9876543210.dir` | "
            "`11111111111111111111111111111111` | `0123456789abcdef0123456789abcdef` |") in report
    assert ("| mbpp | 500 | 500 | 12.5 | - | `models/checkpoint` | not in dvc.lock | not in dvc.lock | "
            "`0123456789abcdef0123456789abcdef` |") in report
    assert "| `train.lr` | 2e-05 |" in report and "## Profile: default" in report


def test_the_model_md5_follows_generate_model(project):
    (project / "params.yaml").write_text(PARAMS.replace("model: models/checkpoint", "model: models/other-run"))
    _run_stage()
    report = (project / "metrics/report.md").read_text()
    assert "| `models/other-run` | `22222222222222222222222222222222.dir` |" in report
    assert "fedcba9876543210fedcba9876543210" not in report


def test_the_report_lists_what_the_data_was_decontaminated_against_and_warns_for_the_rest(project):
    _run_stage()
    report = (project / "metrics/report.md").read_text()
    assert "The training data was decontaminated against: humaneval." in report
    assert "> **Warning:** mbpp is scored, but the training data was not decontaminated against it" in report
    assert "> **Warning:** humaneval" not in report


def test_dry_run_banner_comes_before_the_table(project):
    _run_stage()
    report = (project / "metrics/report.md").read_text()
    assert report.index("**DRY RUN.** 149 of 229 training rows") < report.index("| Model |")


def test_no_banner_for_a_real_run():
    assert dry_run_notice({"rows": 10, "rows_dry_run": 0}, {"provider": "openai"}) is None
    assert "evolution was" in dry_run_notice({"rows": 10, "rows_dry_run": 0}, {"provider": "dry-run"})


def test_passk_plot_rows_cover_every_k_of_every_benchmark(project):
    _run_stage()
    rows = json.loads((project / "metrics/passk.json").read_text())
    assert [(r["label"], r["pass_at_k"]) for r in rows] == [
        ("humaneval pass@1", 25.0), ("humaneval pass@10", 50.0), ("mbpp pass@1", 12.5)]
    assert passk_rows({"humanevalplus": {"plus_pass@1": 0.5}})[0]["label"] == "humanevalplus+ pass@1"


def test_missing_metrics_of_an_enabled_benchmark_is_a_clear_error(project):
    (project / "metrics/mbpp.json").unlink()
    with pytest.raises(EvolcoderError, match=r"metrics/mbpp.json not found: run `dvc repro evaluate@mbpp`"):
        _run_stage()


def test_a_truncated_metrics_file_is_a_clear_error(project):
    (project / "metrics/mbpp.json").write_text('{"pass@1": 0.1')
    with pytest.raises(EvolcoderError, match=r"metrics/mbpp.json:1: malformed JSON"):
        _run_stage()
