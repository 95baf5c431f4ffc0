"""The report's charts: SVG files drawn offline by the report stage from the plot files `dvc plots`
shows, embedded in metrics/report.md. tests/report/test_view.py looks at them in a browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evolcoder.report.charts import specs
from evolcoder.report.charts.render import Chart, draw_charts, read_rows
from evolcoder.errors import EvolcoderError
from evolcoder.report.report import ReportConfig, pass1_rows

PARAMS = "benchmarks: [humaneval, mbpp]\ngenerate: {model: models/checkpoint}\nreport: {profile: default}\n"
LOSS_TSV = "step\tloss\n" + "".join(f"{s}\t{7.6 * 0.97 ** s:.4f}\n" for s in range(1, 41))
COMPOSITION = [{"group": f"round {r} {m}", "round": r, "method": m, "rows": n}
               for r, m, n in [(0, "seed", 80), (1, "complexity", 18), (1, "constraints", 17),
                               (2, "complexity", 17), (2, "constraints", 14)]]
INSTRUCTION_LENGTH = [{"round": r, "mean_words": w, "median_words": w, "p90_words": int(w * 1.3)}
                      for r, w in [(0, 26.6), (1, 42.8), (2, 60.3)]]
VERIFY = [{"round": r, "method": m, "pass_rate": p}
          for r, m, p in [(0, "seed", 0.9), (1, "complexity", 0.6), (1, "constraints", 0.7)]]
VERIFY_PLOT = "data/verify/plots/pass_rate.json"


def write_project(root: Path) -> Path:
    """A workspace after evaluate: metrics of two benchmarks and the plot files of train and dataset."""
    (root / "params.yaml").write_text(PARAMS)
    files = {"metrics/humaneval.json": {"pass@1": 0.25, "n_tasks": 164, "n_samples": 164},
             "metrics/mbpp.json": {"pass@1": 0.125, "n_tasks": 500, "n_samples": 500},
             "data/dataset/plots/composition.json": COMPOSITION,
             "data/dataset/plots/instruction_length.json": INSTRUCTION_LENGTH}
    for name, value in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(json.dumps(value))
    loss = root / "metrics/train_curves/plots/metrics/loss.tsv"
    loss.parent.mkdir(parents=True)
    loss.write_text(LOSS_TSV)
    return root


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(write_project(tmp_path))
    return tmp_path


def run_report() -> str:
    from stages.report import main

    main()
    return Path("metrics/report.md").read_text()


def image_links(report: str) -> list[str]:
    return re.findall(r"!\[[^\]]+\]\(([^)]+)\)", report)


def test_the_report_embeds_each_chart_drawn_beside_it(project):
    report = run_report()
    links = image_links(report)
    assert links == ["charts/pass1_vs_paper.svg", "charts/train_loss.svg", "charts/composition.svg",
                     "charts/instruction_length.svg"]
    for link in links:
        assert (project / "metrics" / link).read_text().startswith("<svg")
    assert report.index("| Model |") < report.index("## Charts") < report.index("## Sources of the published")
    assert "From `metrics/train_curves/plots/metrics/loss.tsv`." in report


def test_a_chart_whose_plot_file_is_absent_is_named_as_not_drawn(project):
    report = run_report()
    assert ("- Answers whose code passed verification, by round and method: "
            f"`{VERIFY_PLOT}` not found (the `verify` stage writes it).") in report
    (project / VERIFY_PLOT).parent.mkdir(parents=True)
    (project / VERIFY_PLOT).write_text(json.dumps(VERIFY))
    report = run_report()
    assert "charts/verify_pass_rate.svg" in image_links(report) and "Not drawn" not in report


def test_charts_say_what_they_show(project):
    run_report()
    svg = {p.stem: p.read_text() for p in (project / "metrics/charts").glob("*.svg")}
    for name, words in {"pass1_vs_paper": ["this run beside the published figures it reproduces", "pass@1 (%)",
                                           "HumanEval", "MBPP", "57.3", "25.0"],
                        "train_loss": ["Training loss by step", "optimizer step", "training loss"],
                        "composition": ["Training rows by round and method", "seed", "round 2", "constraints"],
                        "instruction_length": ["Mean instruction length", "60.3"]}.items():
        assert all(word in svg[name] for word in words), name


def test_published_figures_are_grey_and_ours_in_our_colour(project):
    run_report()
    svg = (project / "metrics/charts/pass1_vs_paper.svg").read_text()
    bars = re.findall(r'aria-label="pass@1 \(%\): ([\d.]+); benchmark: ([^;]+); model: ([^";]+)"[^>]*fill="(#\w+)"', svg)
    colour = {model: fill for _, _, model, fill in bars}
    assert [(b, v) for v, b, model, _ in bars if model == "evolcoder (this run)"] == [("HumanEval", "25"),
                                                                                      ("MBPP", "12.5")]
    assert colour.pop("evolcoder (this run)") == specs.OURS
    assert len(colour) == 2 and set(colour.values()) <= set(specs.PUBLISHED) and len(set(colour.values())) == 2


def test_pass1_rows_put_ours_first_beside_the_15b_s_published_figures():
    rows = pass1_rows(ReportConfig(model_label="ours"), {"humaneval": {"pass@1": 0.25}})
    humaneval = [(r["model"], r["kind"], r["pass_at_1"]) for r in rows if r["benchmark"] == "HumanEval"]
    assert humaneval == [("ours", "ours", 25.0), ("WizardCoder-15B-V1.0", "published", 59.8),
                         ("WizardCoder-15B-V1.0 (paper, n=20, T=0.2)", "published", 57.3)]
    figures = {r["label"]: r["pass_at_1"] for r in rows}
    assert figures["HumanEval+: this run"] is None and figures["HumanEval+: WizardCoder-15B-V1.0"] == 52.4
    assert not [r for r in rows if r["benchmark"] == "MBPP+"]  # no figure at all: not drawn


def test_with_a_table_row_the_chart_sets_ours_beside_that_row():
    rows = pass1_rows(ReportConfig(table_row="WizardCoder-33B-V1.1"), {"humaneval": {"pass@1": 0.25}})
    assert {(r["benchmark"], r["model"], r["pass_at_1"]) for r in rows if r["kind"] == "published"} == {
        ("HumanEval", "WizardCoder-33B-V1.1", 79.9), ("HumanEval+", "WizardCoder-33B-V1.1", 73.2),
        ("MBPP", "WizardCoder-33B-V1.1", 78.9), ("MBPP+", "WizardCoder-33B-V1.1", 66.9)}


def test_a_missing_figure_says_why_in_place_of_its_bar(project):
    run_report()
    svg = (project / "metrics/charts/pass1_vs_paper.svg").read_text()
    assert ">not run<" in svg and ">not published<" in svg  # HumanEval+ ours and paper; MBPP greedy


def test_the_same_plot_files_give_the_same_bytes(project):
    run_report()
    first = {p.name: p.read_bytes() for p in (project / "metrics/charts").iterdir()}
    report = Path("metrics/report.md").read_bytes()
    run_report()
    assert {p.name: p.read_bytes() for p in (project / "metrics/charts").iterdir()} == first
    assert Path("metrics/report.md").read_bytes() == report


def test_a_chart_no_longer_drawn_leaves_no_stale_file(project):
    (project / "metrics/charts").mkdir(parents=True)
    (project / "metrics/charts/old_chart.svg").write_text("<svg/>")
    run_report()
    assert not (project / "metrics/charts/old_chart.svg").exists()


def test_a_malformed_plot_file_is_a_clear_error_and_writes_nothing(project):
    (project / "data/dataset/plots/composition.json").write_text('[{"round": 0,')
    with pytest.raises(EvolcoderError, match=r"data/dataset/plots/composition.json:1: malformed JSON"):
        run_report()
    assert not (project / "metrics/charts").exists() and not (project / "metrics/report.md").exists()


def test_dvclive_tsv_rows_are_numbers(tmp_path):
    path = tmp_path / "loss.tsv"
    path.write_text("step\tloss\n1\t7.5\n2\t7.25\n")
    assert read_rows(path) == [{"step": 1, "loss": 7.5}, {"step": 2, "loss": 7.25}]


def test_an_empty_plot_file_is_not_drawn(tmp_path):
    (tmp_path / "empty.json").write_text("[]")
    drawn = draw_charts([Chart("x", "empty.json", "dataset", "X", specs.composition)], tmp_path / "charts", tmp_path)
    assert drawn[0].path is None and drawn[0].reason == "`empty.json` has no rows"
