"""The published figures the report prints are WizardCoder's table, row for row."""

from __future__ import annotations

import math
import re

import pandas as pd
from tests.support.data import shared_file

from evolcoder.benchmarks import all_benchmarks
from evolcoder.report.published import ROWS, published_row

COLUMNS = {"humaneval": "HumanEval", "humaneval_plus": "HumanEval+", "mbpp": "MBPP", "mbpp_plus": "MBPP+"}
PAPER_ROW = "WizardCoder-15B-V1.0 (paper, n=20, T=0.2)"


def test_every_row_and_figure_of_wizardcoder_s_table_is_in_the_code():
    table = pd.read_csv(shared_file("wizardcoder_table.csv"))
    assert [row.name for row in ROWS if row.name != PAPER_ROW] == list(table["model"])
    for record in table.to_dict("records"):
        row = published_row(record["model"])
        published = {COLUMNS[c]: record[c] for c in COLUMNS if not math.isnan(record[c])}
        assert dict(row.figures) == published, row.name
        base = record["base_model"] if isinstance(record["base_model"], str) else None
        assert row.base_model == base, row.name
        assert row.reference == (record["note"] == "reference row"), row.name


def test_the_paper_s_own_15b_figures_are_those_the_table_notes():
    note = pd.read_csv(shared_file("wizardcoder_table.csv")).set_index("model").loc["WizardCoder-15B-V1.0", "note"]
    figures = {column: float(value) for value, column in re.findall(r"([\d.]+) (HumanEval|MBPP)\b", note)}
    assert dict(published_row(PAPER_ROW).figures) == figures == {"HumanEval": 57.3, "MBPP": 51.8}


def test_every_row_names_a_public_source_and_every_column_is_a_benchmark_s():
    columns = {c.name for b in all_benchmarks() for c in b.columns}
    for row in ROWS:
        assert row.source.startswith("https://") and set(row.figures) <= columns, row.name
