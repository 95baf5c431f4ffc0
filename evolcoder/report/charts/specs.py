"""One Vega-Lite spec per chart, each built from the rows of one plot file (the file `dvc plots`
draws). A spec has no title and no data source: `render` adds the chart's title and inlines the
rows, so the same function draws the workspace's file or a test's."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import cycle
from typing import Any

Rows = list[dict[str, Any]]
Spec = dict[str, Any]

WIDTH = 560
OURS = "#d95f02"  # this run's marks: one strong colour
PUBLISHED = ("#7f7f7f", "#bdbdbd", "#525252")  # published figures: greys, never our colour
METHOD_COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                  "#9c755f", "#bab0ac")  # Tableau 10, the same method the same colour in every chart
ROUND = {"field": "round", "type": "ordinal", "title": None,
         "axis": {"labelExpr": "datum.value == 0 ? 'seed' : 'round ' + datum.value", "labelFontWeight": "bold"}}


def pass1_vs_paper(rows: Rows) -> Spec:
    """Grouped bars per benchmark: our pass@1 in colour beside each published figure in grey;
    a figure we did not run or that was not published says so in place of its bar.

    Rows: `{benchmark, model, kind: ours|published, pass_at_1}` (percent or null), ours first."""
    models = _unique(r["model"] for r in rows)
    kinds = {r["model"]: r["kind"] for r in rows}
    greys = cycle(PUBLISHED)
    colours = [OURS if kinds[m] == "ours" else next(greys) for m in models]
    return {
        "width": WIDTH,
        "height": {"step": 18},
        "encoding": {
            "y": {"field": "benchmark", "type": "nominal", "sort": _unique(r["benchmark"] for r in rows),
                  "title": None, "axis": {"labelFontWeight": "bold", "labelPadding": 6}},
            "yOffset": {"field": "model", "type": "nominal", "sort": models},
            "x": {"field": "pass_at_1", "type": "quantitative", "title": "pass@1 (%)",
                  "scale": {"domain": [0, 100]}},
            "color": {"field": "model", "type": "nominal", "sort": models,
                      "scale": {"domain": models, "range": colours},
                      "legend": {"title": None, "orient": "bottom", "direction": "vertical"}},
        },
        "layer": [
            {"mark": {"type": "bar"}},
            {"transform": [{"calculate": "isValid(datum.pass_at_1) ? format(datum.pass_at_1, '.1f') : "
                                         "datum.kind == 'ours' ? 'not run' : 'not published'", "as": "figure"},
                           {"calculate": "isValid(datum.pass_at_1) ? datum.pass_at_1 : 0", "as": "at"}],
             "mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 11},
             "encoding": {"x": {"field": "at", "type": "quantitative"}, "text": {"field": "figure"},
                          "color": {"value": "#222222"},
                          "opacity": {"condition": {"test": "isValid(datum.pass_at_1)", "value": 1}, "value": 0.55}}},
        ],
    }


def train_loss(rows: Rows) -> Spec:
    """The training loss at each logged step (DVCLive's `loss.tsv`: `{step, loss}`)."""
    return {
        "width": WIDTH,
        "height": 260,
        "mark": {"type": "line", "color": OURS, "strokeWidth": 1.5},
        "encoding": {
            "x": {"field": "step", "type": "quantitative", "title": "optimizer step"},
            "y": {"field": "loss", "type": "quantitative", "title": "training loss", "scale": {"zero": False}},
        },
    }


def composition(rows: Rows) -> Spec:
    """Training rows per round, stacked by evolution method (`{round, method, rows}`), with the
    round's total at the end of its bar."""
    return {
        "width": WIDTH,
        "height": {"step": 28},
        "encoding": {"y": ROUND},
        "layer": [
            {"mark": {"type": "bar"},
             "encoding": {
                 "x": {"field": "rows", "type": "quantitative", "aggregate": "sum", "title": "training rows"},
                 "color": _method_colour(rows),
                 "order": {"field": "method"},
             }},
            {"transform": [{"aggregate": [{"op": "sum", "field": "rows", "as": "total"}], "groupby": ["round"]}],
             "mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 11},
             "encoding": {"x": {"field": "total", "type": "quantitative"}, "text": {"field": "total"}}},
        ],
    }


def instruction_length(rows: Rows) -> Spec:
    """Mean instruction length in words per round (`{round, mean_words}`), which evolution
    should lengthen."""
    return {
        "width": WIDTH,
        "height": {"step": 28},
        "encoding": {
            "y": ROUND,
            "x": {"field": "mean_words", "type": "quantitative", "title": "mean words per instruction"},
        },
        "layer": [
            {"mark": {"type": "bar", "color": OURS}},
            {"mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 11},
             "encoding": {"text": {"field": "mean_words", "type": "quantitative", "format": ".1f"}}},
        ],
    }


def verify_pass_rate(rows: Rows) -> Spec:
    """The share of answers whose code passed verification, per round and method
    (`{round, method, pass_rate}`, a fraction)."""
    return {
        "width": WIDTH,
        "height": {"step": 14},
        "encoding": {
            "y": ROUND,
            "yOffset": {"field": "method", "type": "nominal", "sort": _methods(rows)},
            "x": {"field": "pass_rate", "type": "quantitative", "title": "answers passing",
                  "scale": {"domain": [0, 1]}, "axis": {"format": ".0%"}},
            "color": _method_colour(rows),
        },
        "mark": {"type": "bar"},
    }


def _methods(rows: Rows) -> list[str]:
    """The methods of the rows, the seed first, then by name: the same set gets the same colours."""
    return sorted({r["method"] for r in rows}, key=lambda m: (m != "seed", m))


def _method_colour(rows: Rows) -> dict[str, Any]:
    methods = _methods(rows)
    colours = [METHOD_COLOURS[i % len(METHOD_COLOURS)] for i in range(len(methods))]
    return {"field": "method", "type": "nominal", "sort": methods, "scale": {"domain": methods, "range": colours},
            "legend": {"title": "method", "orient": "bottom", "columns": 3}}


def _unique(values: Iterator[Any] | Any) -> list[Any]:
    return list(dict.fromkeys(values))
