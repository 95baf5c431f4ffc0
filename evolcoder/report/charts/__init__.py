"""Charts a person looks at, drawn offline: one Vega-Lite spec per plot file (`specs`), rendered
to SVG beside the report (`render`), and the page template that lets `dvc plots show` draw the
same plot files without the internet (`evolcoder.plots.cli`). All of them use the
Vega-Lite that vl-convert bundles, so nothing is fetched to draw or to view a chart."""
