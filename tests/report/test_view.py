"""What a person sees: the report rendered as HTML and DVC's plots page, opened offline in a
headless Chromium; each chart must show drawn pixels, not a blank page or a broken image."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tests.support.browser import coloured_pixels, drawn_share, open_page
from evolcoder.plots.cli import offline_template
from tests.support.repo_copy import dvc
from tests.report.test_charts import COMPOSITION, LOSS_TSV, VERIFY, VERIFY_PLOT, run_report, write_project

# Reports where each image landed once the page has loaded: a measuring instrument, not part of the
# report; a markdown viewer shows the same HTML.
MEASURE = """<pre id="images"></pre><script>
window.addEventListener("load", () => { document.getElementById("images").textContent = JSON.stringify(
  [...document.images].map(i => { const r = i.getBoundingClientRect();
    return {src: i.getAttribute("src"), natural: i.naturalWidth, x: r.left, y: r.top, w: r.width, h: r.height}; })); });
</script>"""


def report_page(report: Path) -> Path:
    """report.md as a markdown viewer shows it (CommonMark with tables), saved beside it."""
    body = MarkdownIt("commonmark").enable("table").render(report.read_text(encoding="utf-8"))
    page = report.with_suffix(".html")
    page.write_text(f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>report</title></head>'
                    f'<body style="font-family: sans-serif; max-width: 1000px">{body}{MEASURE}</body></html>')
    return page


@pytest.mark.slow
def test_every_chart_of_the_report_is_drawn_in_a_browser(tmp_path, monkeypatch):
    monkeypatch.chdir(write_project(tmp_path))
    (tmp_path / VERIFY_PLOT).parent.mkdir(parents=True)
    (tmp_path / VERIFY_PLOT).write_text(json.dumps(VERIFY))
    run_report()
    screenshot, dom = open_page(report_page(tmp_path / "metrics/report.md"), tmp_path / "report.png", 1200, 3600)
    images = json.loads(re.search(r'<pre id="images">(.*?)</pre>', dom, re.DOTALL).group(1))
    assert [i["src"] for i in images] == ["charts/pass1_vs_paper.svg", "charts/train_loss.svg",
                                          "charts/composition.svg", "charts/instruction_length.svg",
                                          "charts/verify_pass_rate.svg"]
    for image in images:
        assert image["natural"] > 300 and image["y"] + image["h"] <= screenshot.height, image
        chart = screenshot.crop((image["x"], image["y"], image["x"] + image["w"], image["y"] + image["h"]))
        assert drawn_share(chart) > 0.03 and coloured_pixels(chart) > 500, (image["src"], drawn_share(chart))


@pytest.mark.slow
def test_dvc_plots_show_draws_offline_with_the_template(tmp_path):
    (tmp_path / "composition.json").write_text(json.dumps(COMPOSITION))
    (tmp_path / "loss.tsv").write_text(LOSS_TSV)
    (tmp_path / "dvc.yaml").write_text("plots:\n  - composition.json: {template: bar_horizontal, x: rows, y: group}\n"
                                       "  - loss.tsv: {x: step, y: loss}\n")
    dvc(tmp_path, "init", "--no-scm", "-q")
    template = offline_template()  # what `make plots` writes
    assert "{plot_divs}" in template and "{scripts}" not in template  # DVC puts its CDN tags in {scripts}
    (tmp_path / "offline.html").write_text(template)
    dvc(tmp_path, "plots", "show", "--html-template", "offline.html", "-o", "plots")
    page = tmp_path / "plots/index.html"
    assert not re.search(r"<script[^>]+src=", page.read_text())
    screenshot, _ = open_page(page, tmp_path / "plots.png", 1200, 1000)
    assert coloured_pixels(screenshot) > 5000  # two charts' bars and line; DVC's CDN page draws none here
