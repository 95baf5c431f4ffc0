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


def table_lines(report: str) -> list[str]:
    """The rows of the report's first table, header first."""
    start = report.index("| Model |")
    return report[start:report.index("\n\n", start)].splitlines()


def test_report_table_places_our_figures_among_every_published_row(project):
    _run_stage()
    report = (project / "metrics/report.md").read_text()
    header, _, *rows = table_lines(report)
    assert header == "| Model | HumanEval | HumanEval+ | MBPP | MBPP+ | Source |"
    assert len(rows) == 14  # ours, seven releases, the paper's 15B figures, five reference rows
    humaneval = [float(row.split(" | ")[1]) for row in rows]
    assert humaneval == sorted(humaneval, reverse=True)  # ranked by the first column we have a figure in
    assert rows[-2:] == ["| **evolcoder (this run)** | 25.0 | - | 12.5 | - | this run |",
                         "| WizardCoder-1B-V1.0 | 23.8 | - | - | - | [model card](https://huggingface.co/WizardLM/"
                         "WizardCoder-1B-V1.0) |"]
    assert ("| WizardCoder-15B-V1.0 (paper, n=20, T=0.2) | 57.3 | - | 51.8 | - | "
            "[paper](https://arxiv.org/abs/2306.08568) |") in rows
    assert ("| WizardCoder-33B-V1.1 | 79.9 | 73.2 | 78.9 | 66.9 | "
            "[model card](https://huggingface.co/WizardLM/WizardCoder-33B-V1.1) |") in rows
    assert ("On HumanEval, this run (25.0) ranks 13 of the 14 rows with a figure, below WizardCoder-3B-V1.0 (34.8) "
            "and above WizardCoder-1B-V1.0 (23.8).") in report
    assert "this profile's row" not in report  # report.table_row: null


def test_the_profile_s_own_row_is_marked(project):
    (project / "params.yaml").write_text(PARAMS.replace("report: {profile: default}",
                                                        "report: {profile: w33, table_row: WizardCoder-33B-V1.1}"))
    _run_stage()
    rows = table_lines((project / "metrics/report.md").read_text())
    assert [row for row in rows if "this profile's row" in row] == [
        "| WizardCoder-33B-V1.1 **← this profile's row** | 79.9 | 73.2 | 78.9 | 66.9 | "
        "[model card](https://huggingface.co/WizardLM/WizardCoder-33B-V1.1) |"]


def test_a_table_row_that_is_not_in_the_table_is_refused_with_the_names(project):
    (project / "params.yaml").write_text(PARAMS.replace("report: {profile: default}",
                                                        "report: {table_row: WizardCoder-34B}"))
    with pytest.raises(EvolcoderError, match=r"report.table_row: 'WizardCoder-34B' is not a row of WizardCoder's "
                                             r"table; one of: WizardCoder-33B-V1.1, WizardCoder-Python-34B-V1.0"):
        _run_stage()


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


META = {"backend": "transformers", "model": "models/checkpoint",
        "versions": {"python": "3.11.7", "torch": "2.13.0", "transformers": "5.24.0", "vllm": None},
        "server": None, "batch_shapes": {"16x412": 160, "4x380": 4}, "mixed_batch_shapes": True}


def test_the_report_names_the_library_versions_that_generated_each_benchmark(project):
    (project / "data/generations").mkdir(parents=True)
    (project / "data/generations/humaneval.meta.json").write_text(json.dumps(META))
    _run_stage()
    report = (project / "metrics/report.md").read_text()
    section = report[report.index("## Libraries that generated the samples"):report.index("## Decontamination")]
    assert section.splitlines()[2:6] == [
        "| benchmark | backend | model | server | python | torch | transformers | vllm |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        "| humaneval | transformers | models/checkpoint | - | 3.11.7 | 2.13.0 | 5.24.0 | - |",
        "| mbpp | not recorded | - | - | - | - | - | - |"]
    assert "https://github.com/nlpxucan/WizardLM/issues/196" in section


def test_mixed_batch_shapes_are_a_warning_under_the_table(project):
    (project / "data/generations").mkdir(parents=True)
    (project / "data/generations/humaneval.meta.json").write_text(json.dumps(META))
    _run_stage()
    report = (project / "metrics/report.md").read_text()
    warning = ("> **Warning:** humaneval's samples were generated in batches of more than one shape (rows x width: "
               "samples; 16x412: 160, 4x380: 4).")
    assert report.index("| Model |") < report.index(warning) < report.index("## Charts")
    (project / "data/generations/humaneval.meta.json").write_text(json.dumps({**META, "mixed_batch_shapes": False}))
    _run_stage()
    assert "batches of more than one shape" not in (project / "metrics/report.md").read_text()


@pytest.mark.parametrize("train, lines", [
    ({"final_loss": 3.0}, []),
    ({"continued_from": None, "continued_code_differs": False},
     ["Training started afresh (it did not continue from an earlier run)."]),
    ({"continued_from": ".work/train/run-3f2a", "continued_code_differs": False},
     ["Training continued from `.work/train/run-3f2a`."]),
    ({"continued_from": ".work/train/run-3f2a", "continued_code_differs": True},
     ["Training continued from `.work/train/run-3f2a`.", "> **Warning:** the run it continued from was trained by "
      "other training code (`continued_code_differs`): the checkpoint holds steps of two versions of the code."]),
])
def test_the_report_says_whether_training_continued_an_earlier_run(project, train, lines):
    (project / "metrics/train.json").write_text(json.dumps(train))
    _run_stage()
    report = (project / "metrics/report.md").read_text()
    section = report[report.index("## What produced our figures"):report.index("## Libraries")]
    assert [line for line in section.splitlines() if line.startswith(("Training", "> **Warning"))] == lines


def test_no_user_facing_text_points_at_the_test_data_folder(project):
    _run_stage()
    assert "shared" not in (project / "metrics/report.md").read_text()


def test_the_report_stage_s_params_are_the_keys_it_prints(repo_root):
    from evolcoder.config import read_yaml
    from evolcoder.report.stage import PROFILE_KEYS

    stage = read_yaml(repo_root / "dvc.yaml")["stages"]["report"]
    assert stage["params"] == ["benchmarks", "report", *PROFILE_KEYS]
    params = read_yaml(repo_root / "params.yaml")
    for key in PROFILE_KEYS:  # DVC fails on a listed param that params.yaml lacks
        *parents, name = key.split(".")
        value = params
        for part in parents:
            value = value[part]
        assert name in value, key
