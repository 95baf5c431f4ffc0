"""The benchmark table: our figures beside WizardCoder-15B's, with what produced them.

Inputs are plain values (the stage reads the files): flat metrics per benchmark, the parsed
dvc.lock, the dataset and evolve metrics, and a few profile settings. Scores in metrics
files are fractions; the report prints percentages, as the paper does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evolcoder.benchmarks import all_benchmarks
from evolcoder.config import check

# The published rows of the table: (id, label, source). Each benchmark's module gives its
# figures by row id (`Column.published`).
PUBLISHED_ROWS: tuple[tuple[str, str, str], ...] = (
    ("paper", "WizardCoder-15B-V1.0, paper (T=0.2, n=20)",
     "arXiv 2306.08568, Table 1: pass@1 estimated from 20 samples at temperature 0.2, top_p 0.95; "
     "MBPP on its 500 test tasks"),
    ("greedy", "WizardCoder-15B-V1.0, greedy (seed table)",
     "WizardCoder's README table (the 33B-V1.1 release): greedy decoding, single blank-line prompt; "
     "its `humaneval.59.8.gen` outputs are in shared/data"),
)


@dataclass(frozen=True)
class TableColumn:
    """A column of the table: which (benchmark, metric) fill it, tried in order, and its published figures."""

    name: str
    sources: tuple[tuple[str, str], ...]
    published: Mapping[str, float]


def table_columns(enabled: Iterable[str]) -> list[TableColumn]:
    """The columns in registry order: the seed table's, and those an enabled benchmark fills."""
    enabled = set(enabled)
    pairs = [(b, c) for b in all_benchmarks() for c in b.columns]
    columns = []
    for name in dict.fromkeys(c.name for _, c in pairs):
        mine = [(b, c) for b, c in pairs if c.name == name]
        if any(c.seed_table or b.name in enabled for b, c in mine):
            published = {row: value for _, c in mine for row, value in c.published.items()}
            columns.append(TableColumn(name, tuple((b.name, c.metric) for b, c in mine), published))
    return columns


@dataclass
class ReportConfig:
    """`profile` names the params profile in the report; `model_label` is our row's name."""

    profile: str = "default"
    model_label: str = "evolcoder (this run)"

    def __post_init__(self) -> None:
        check(bool(self.profile.strip()), "report.profile", "must not be empty")
        check(bool(self.model_label.strip()), "report.model_label", "must not be empty")


@dataclass(frozen=True)
class Provenance:
    """What a benchmark's figures came from, with the md5 dvc.lock records for each: the model
    generated from (`generate.model`), the benchmark's problems, and the training set."""

    model: str
    model_md5: str | None
    problems_md5: str | None
    dataset_md5: str | None


def locked_md5(lock: Mapping[str, Any], stage: str, path: str) -> str | None:
    """The md5 dvc.lock records for `path` among `stage`'s deps or outs, or None."""
    entry = lock.get("stages", {}).get(stage, {})
    for item in [*entry.get("deps", []), *entry.get("outs", [])]:
        if item.get("path") == path:
            return item.get("md5")
    return None


def provenance(lock: Mapping[str, Any], benchmark: str, model_path: str, problems_path: str,
               dataset_path: str) -> Provenance:
    """What generated `benchmark`'s samples (generate@<bench>'s model and problems deps) and the
    training set (train's dep)."""
    generated = f"generate@{benchmark}"
    return Provenance(model_path, locked_md5(lock, generated, model_path), locked_md5(lock, generated, problems_path),
                      locked_md5(lock, "train", dataset_path))


def decontamination_lines(scored: Sequence[str], against: Sequence[str]) -> list[str]:
    """What the training data was decontaminated against, and a warning per scored benchmark it
    was not (`dataset.decontam.skip`): its score may count memorised problems."""
    lines = [f"The training data was decontaminated against: {', '.join(against) or 'nothing'}."]
    lines += [f"> **Warning:** {name} is scored, but the training data was not decontaminated against it "
              "(`dataset.decontam.skip`): its figures may count problems the model saw in training."
              for name in scored if name not in against]
    return lines


def dry_run_notice(dataset_metrics: Mapping[str, Any], evolve_metrics: Mapping[str, Any]) -> str | None:
    """A banner when any training row (or the evolution itself) came from the dry-run provider."""
    rows = int(dataset_metrics.get("rows_dry_run", 0) or 0)
    evolved_dry = evolve_metrics.get("provider") == "dry-run"
    if not rows and not evolved_dry:
        return None
    share = f"{rows} of {dataset_metrics.get('rows', '?')} training rows were" if rows else "The evolution was"
    return (f"> **DRY RUN.** {share} written by the dry-run provider (offline rewrite rules, not an LLM). "
            "These figures check the wiring of the pipeline; they say nothing about the recipe.")


def column_value(metrics: Mapping[str, Mapping[str, Any]], sources: Iterable[tuple[str, str]]) -> float | None:
    """The first available figure for a column, in percent."""
    for benchmark, key in sources:
        if key in metrics.get(benchmark, {}):
            return 100 * float(metrics[benchmark][key])
    return None


def passk_rows(metrics: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every pass@k and plus_pass@k of every benchmark, for the `dvc plots` bar chart (percent)."""
    rows = []
    for benchmark, values in metrics.items():
        for key, value in values.items():
            name, _, k = key.partition("@")
            if name in ("pass", "plus_pass") and k.isdigit():
                label = f"{benchmark}{'+' if name == 'plus_pass' else ''} pass@{k}"
                rows.append({"benchmark": benchmark, "metric": name, "k": int(k),
                             "pass_at_k": round(100 * float(value), 2), "label": label})
    return sorted(rows, key=lambda r: (r["benchmark"], r["metric"], r["k"]))


def pass1_rows(config: ReportConfig, metrics: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The table's pass@1 figures as plot rows (percent, null where the table has '-'), ours
    first, for the chart of this run against the published figures; a column with no figure at
    all is left out. `label` (benchmark and a short row name) names the bar in `dvc plots show`."""
    rows = []
    for column in table_columns(metrics):
        figures = [(config.model_label, "this run", "ours", column_value(metrics, column.sources))]
        figures += [(label, row, "published", column.published.get(row)) for row, label, _ in PUBLISHED_ROWS]
        if any(value is not None for *_, value in figures):
            rows += [{"benchmark": column.name, "model": model, "kind": kind,
                      "pass_at_1": None if value is None else round(value, 2), "label": f"{column.name}: {short}"}
                     for model, short, kind, value in figures]
    return rows


def render_report(config: ReportConfig, metrics: Mapping[str, Mapping[str, Any]],
                  origins: Mapping[str, Provenance], decontaminated: Sequence[str], profile: Mapping[str, Any],
                  notice: str | None, charts: Iterable[str] = ()) -> str:
    """The whole `metrics/report.md`; `charts` are the lines of its charts section."""
    lines = ["# Benchmark report", ""]
    if notice:
        lines += [notice, ""]
    lines += [*_table(config, metrics), ""]
    lines += ["Scores are pass@1 in percent. Our HumanEval+/MBPP+ columns are EvalPlus's plus tests "
              "(`plus_pass@1`); '-' is a figure not run here or not published.", ""]
    lines += charts
    lines += ["## Sources of the published figures", ""]
    lines += [f"- **{label}**: {note}." for _, label, note in PUBLISHED_ROWS] + [""]
    lines += ["## What produced our figures", "", "| benchmark | tasks | samples | " + " | ".join(_ks(metrics))
              + " | model | model md5 | problems md5 | training set md5 |", "|" + " --- |" * (7 + len(_ks(metrics)))]
    for benchmark, values in metrics.items():
        origin = origins[benchmark]
        scores = [_pct(values.get(k)) for k in _ks(metrics)]
        lines.append(f"| {benchmark} | {values.get('n_tasks', '-')} | {values.get('n_samples', '-')} | "
                     + " | ".join(scores) + f" | `{origin.model}` | {_md5(origin.model_md5)} | "
                     f"{_md5(origin.problems_md5)} | {_md5(origin.dataset_md5)} |")
    lines += ["", "md5 values are the ones dvc.lock records (`dvc status` tells whether they are current).", ""]
    lines += ["## Decontamination", "", *decontamination_lines(list(metrics), decontaminated), ""]
    lines += [f"## Profile: {config.profile}", "", "| setting | value |", "| --- | --- |"]
    lines += [f"| `{key}` | {'null' if value is None else value} |" for key, value in profile.items()] + [""]
    return "\n".join(lines)


def _table(config: ReportConfig, metrics: Mapping[str, Mapping[str, Any]]) -> list[str]:
    columns = table_columns(metrics)
    header = ["Model", *(c.name for c in columns)]
    ours = [f"**{config.model_label}**", *(_pct(column_value(metrics, c.sources), scale=1) for c in columns)]
    rows = [ours] + [[label, *(_pct(c.published.get(row), scale=1) for c in columns)]
                     for row, label, _ in PUBLISHED_ROWS]
    return ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def _ks(metrics: Mapping[str, Mapping[str, Any]]) -> list[str]:
    keys = {k for values in metrics.values() for k in values if "pass@" in k}
    return sorted(keys, key=lambda k: (k.startswith("plus"), int(k.split("@")[1])))


def _pct(value: float | None, scale: float = 100) -> str:
    return "-" if value is None else f"{scale * float(value):.1f}"


def _md5(value: str | None) -> str:
    return f"`{value}`" if value else "not in dvc.lock"
