"""`evolcoder plots-template`: an HTML template for `dvc plots show --html-template` that draws offline.

DVC's own page loads Vega, Vega-Lite and Vega-Embed from a CDN, so offline it stays blank. This
template inlines the copies vl-convert ships (the Vega-Lite it draws the report's charts with)
and leaves out DVC's `{scripts}` placeholder, where those CDN tags would go. `make plots` writes
it and points DVC's `plots.html_template` at it (in `.dvc/config.local`), so later `dvc plots
show` and `dvc plots diff` draw offline too.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import vl_convert

from evolcoder.report.charts.render import VEGA_LITE
from evolcoder.jsonl import atomic_open

PAGE = """<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8">
    {refresh_tag}
    <title>DVC plots (offline)</title>
    <script type="text/javascript">
BUNDLE
    </script>
    <style>
        body { font-family: sans-serif; }
        table { border-spacing: 15px; }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def offline_template() -> str:
    """The page: DVC's `{plot_divs}` and `{refresh_tag}` placeholders, Vega's scripts inline."""
    bundle = vl_convert.javascript_bundle(vl_version=VEGA_LITE)
    return PAGE.replace("BUNDLE", bundle)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output", type=Path, help="where to write the template, e.g. .dvc/tmp/offline_plots.html")


def run(args: argparse.Namespace) -> int:
    with atomic_open(args.output) as f:
        f.write(offline_template())
    print(f"wrote {args.output}: `dvc plots show --html-template {args.output}` draws offline")
    return 0
