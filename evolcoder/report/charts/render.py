"""Draw charts as SVG files with vl-convert (Vega-Lite and its JavaScript engine in one wheel, no
network), and the report's section that embeds them.

A chart is drawn from one plot file, the one `dvc plots` shows; a chart whose file is absent
(a stage not in this pipeline, e.g. `verify`) is listed as not drawn, with the reason. The SVG
bytes depend only on the rows, the spec and the pinned vl-convert, so DVC sees an unchanged
chart as unchanged.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import vl_convert

from evolcoder.report.charts.specs import Rows, Spec
from evolcoder.errors import EvolcoderError
from evolcoder.jsonl import atomic_open, read_json

VEGA_LITE = "5.21"  # the newest Vega-Lite 5 that vl-convert bundles: DVC's plot templates are written for 5
SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
STYLE = {
    "font": "DejaVu Sans, Helvetica, Arial, sans-serif",
    "title": {"fontSize": 15, "anchor": "start", "offset": 12},
    "axis": {"labelFontSize": 12, "titleFontSize": 12, "titleFontWeight": "normal"},
    "legend": {"labelFontSize": 12, "titleFontSize": 12, "labelLimit": 480},
    "view": {"stroke": None},
}


@dataclass(frozen=True)
class Chart:
    """One chart: its file name (`<name>.svg`), the plot file it draws, the stage that writes
    that file (named when it is absent), its title, and the spec built from the file's rows."""

    name: str
    source: str
    made_by: str
    title: str
    spec: Callable[[Rows], Spec]


@dataclass(frozen=True)
class Drawn:
    """What became of a chart: `path` of its SVG, or why it was not drawn."""

    chart: Chart
    path: Path | None = None
    reason: str = ""


def read_rows(path: Path) -> Rows:
    """The rows of a plot file: a JSON list of objects, or a TSV with a header (DVCLive's), its
    numbers read as numbers."""
    if path.suffix == ".tsv":
        return [{key: _number(value) for key, value in row.items()}
                for row in csv.DictReader(path.read_text(encoding="utf-8").splitlines(), delimiter="\t")]
    rows = read_json(path)
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise EvolcoderError(f"{path}: expected a JSON list of objects (a DVC plot file)")
    return rows


def chart_svg(chart: Chart, rows: Rows) -> str:
    """The chart as an SVG document."""
    spec = {"$schema": SCHEMA, "title": chart.title, "data": {"values": rows}, "config": STYLE,
            **chart.spec(rows)}
    return vl_convert.vegalite_to_svg(spec, vl_version=VEGA_LITE)


def draw_charts(charts: Iterable[Chart], out_dir: Path, root: Path = Path(".")) -> list[Drawn]:
    """Draw each chart whose plot file (relative to `root`) exists into `out_dir`, replacing what
    was there; every chart is drawn before any file is written."""
    drawn, svgs = [], {}
    for chart in charts:
        source = root / chart.source
        if not source.is_file():
            drawn.append(Drawn(chart, reason=f"`{chart.source}` not found (the `{chart.made_by}` stage writes it)"))
            continue
        rows = read_rows(source)
        if not rows:
            drawn.append(Drawn(chart, reason=f"`{chart.source}` has no rows"))
            continue
        svgs[chart.name] = chart_svg(chart, rows)
        drawn.append(Drawn(chart, path=out_dir / f"{chart.name}.svg"))
    if out_dir.exists():
        shutil.rmtree(out_dir)
    for name, svg in svgs.items():
        with atomic_open(out_dir / f"{name}.svg") as f:
            f.write(svg)
    return drawn


def charts_section(drawn: Iterable[Drawn], report_dir: Path) -> list[str]:
    """The report's `## Charts` lines: each drawn chart as an image linked relative to the
    report, with the file it was drawn from; then the charts not drawn and why."""
    lines = ["## Charts", ""]
    missing = []
    for item in drawn:
        if item.path is None:
            missing.append(f"- {item.chart.title}: {item.reason}.")
            continue
        link = Path(os.path.relpath(item.path, report_dir)).as_posix()
        lines += [f"![{item.chart.title}]({link})", "", f"From `{item.chart.source}`.", ""]
    return lines + (["Not drawn:", "", *missing, ""] if missing else [])


def _number(value: str) -> Any:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value
