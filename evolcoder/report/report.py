"""The report: our figures among every row of WizardCoder's table, with what produced them.

Inputs are plain values (the stage reads the files): flat metrics per benchmark, the parsed
dvc.lock, the dataset and evolve metrics, the generation metadata of each benchmark, the
training metrics and a few profile settings. Scores in metrics files are fractions; the report
prints percentages, as the paper does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from evolcoder.benchmarks import all_benchmarks
from evolcoder.config import check
from evolcoder.report.published import DEFAULT_RECIPE_ROWS, PAPER, README, ROWS, PublishedRow, published_row, row_names

VERSIONS_MATTER = ("The library versions decide the text a model generates: users of WizardCoder-Python-34B measured "
                   "55 on HumanEval instead of the published 73.2 with a later transformers, and its maintainers "
                   "advise transformers <= 4.32.0 (https://github.com/nlpxucan/WizardLM/issues/196).")


@dataclass(frozen=True)
class TableColumn:
    """A column of the table and which of our (benchmark, metric) fill it, tried in order."""

    name: str
    sources: tuple[tuple[str, str], ...]


def table_columns(enabled: Iterable[str]) -> list[TableColumn]:
    """The columns in registry order: the seed table's, and those an enabled benchmark fills."""
    enabled = set(enabled)
    pairs = [(b, c) for b in all_benchmarks() for c in b.columns]
    columns = []
    for name in dict.fromkeys(c.name for _, c in pairs):
        mine = [(b, c) for b, c in pairs if c.name == name]
        if any(c.seed_table or b.name in enabled for b, c in mine):
            columns.append(TableColumn(name, tuple((b.name, c.metric) for b, c in mine)))
    return columns


@dataclass
class ReportConfig:
    """`profile` names the params profile in the report; `model_label` is our row's name;
    `table_row` the row of WizardCoder's table the profile reproduces (marked; null: none)."""

    profile: str = "default"
    model_label: str = "evolcoder (this run)"
    table_row: str | None = None

    def __post_init__(self) -> None:
        check(bool(self.profile.strip()), "report.profile", "must not be empty")
        check(bool(self.model_label.strip()), "report.model_label", "must not be empty")
        check(self.table_row is None or self.table_row in row_names(), "report.table_row",
              f"{self.table_row!r} is not a row of WizardCoder's table; one of: {', '.join(row_names())} (or null)")


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


def compared_rows(config: ReportConfig) -> list[PublishedRow]:
    """The published rows the chart sets this run beside: the profile's own row, or (none) the
    WizardCoder-15B rows, whose recipe the default profile scales down."""
    return [published_row(name) for name in ((config.table_row,) if config.table_row else DEFAULT_RECIPE_ROWS)]


def pass1_rows(config: ReportConfig, metrics: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The chart's pass@1 figures as plot rows (percent, null where the table has '-'), ours
    first, then the `compared_rows`; a column with no figure at all is left out. `label`
    (column and row) names the bar in `dvc plots show`."""
    rows = []
    for column in table_columns(metrics):
        figures = [(config.model_label, "this run", "ours", column_value(metrics, column.sources))]
        figures += [(row.name, row.name, "published", row.figures.get(column.name)) for row in compared_rows(config)]
        if any(value is not None for *_, value in figures):
            rows += [{"benchmark": column.name, "model": model, "kind": kind,
                      "pass_at_1": None if value is None else round(value, 2), "label": f"{column.name}: {short}"}
                     for model, short, kind, value in figures]
    return rows


def results_table(config: ReportConfig, metrics: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Ours and every published row: `model`, `kind` (ours, marked: the profile's row, published)
    and pass@1 (%) per column (NaN: not run or not published), best first by `ranking_column`."""
    columns = table_columns(metrics)
    ours = {"model": config.model_label, "kind": "ours", **{c.name: column_value(metrics, c.sources) for c in columns}}
    published = [{"model": row.name, "kind": "marked" if row.name == config.table_row else "published",
                  **{c.name: row.figures.get(c.name) for c in columns}} for row in ROWS]
    frame = pd.DataFrame([ours, *published], columns=["model", "kind", *(c.name for c in columns)])
    frame[[c.name for c in columns]] = frame[[c.name for c in columns]].astype(float)
    by = ranking_column(frame)
    if by is not None:  # stable: ours stays above a published row with the same figure
        frame = frame.sort_values(by, ascending=False, na_position="last", kind="stable").reset_index(drop=True)
    return frame


def ranking_column(frame: pd.DataFrame) -> str | None:
    """The first column in which this run has a figure (the one the table is ranked by), or None."""
    ours = frame[frame["kind"] == "ours"].iloc[0]
    return next((name for name in frame.columns[2:] if pd.notna(ours[name])), None)


def standing(frame: pd.DataFrame) -> str | None:
    """Where this run lands: its rank among the rows with a figure in the ranking column, and its neighbours."""
    by = ranking_column(frame)
    if by is None:
        return None
    ranked = frame[frame[by].notna()].reset_index(drop=True)
    place = int(ranked.index[ranked["kind"] == "ours"][0])
    text = f"On {by}, this run ({ranked[by][place]:.1f}) ranks {place + 1} of the {len(ranked)} rows with a figure"
    neighbours = [f"{word} {ranked['model'][i]} ({ranked[by][i]:.1f})"
                  for word, i in (("below", place - 1), ("above", place + 1)) if 0 <= i < len(ranked)]
    return text + (f", {' and '.join(neighbours)}." if neighbours else ".")


def batch_shape_warnings(generations: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """A warning per benchmark whose samples were generated in batches of more than one shape."""
    lines = []
    for benchmark, meta in generations.items():
        if meta.get("mixed_batch_shapes"):
            shapes = ", ".join(f"{shape}: {n}" for shape, n in (meta.get("batch_shapes") or {}).items())
            lines.append(
                f"> **Warning:** {benchmark}'s samples were generated in batches of more than one shape (rows x "
                f"width: samples; {shapes}). Batched kernels sum in a different order for each shape, so a sample's "
                "text can depend on the batch it was generated in: a rerun with another batch size or shard plan "
                "may not give every sample back exactly.")
    return lines


def generation_lines(generations: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """What generated each benchmark's samples: backend, model, server and library versions
    (`data/generations/<bench>.meta.json`; an empty mapping where the file is absent)."""
    records = [{"benchmark": benchmark, **({"backend": meta.get("backend"), "model": meta.get("model"),
                                            "server": _cell(meta.get("server")), **(meta.get("versions") or {})}
                                           if meta else {"backend": "not recorded"})}
               for benchmark, meta in generations.items()]
    frame = pd.DataFrame(records).astype(object)
    return ["## Libraries that generated the samples", "", *markdown_table(frame.where(frame.notna(), "-")), "",
            "'-': not used, or not recorded. " + VERSIONS_MATTER, ""]


def training_lines(train: Mapping[str, Any]) -> list[str]:
    """Whether training continued from an earlier run (`metrics/train.json`), when it says."""
    if "continued_from" not in train:
        return []
    if train["continued_from"] is None:
        return ["Training started afresh (it did not continue from an earlier run).", ""]
    lines = [f"Training continued from `{train['continued_from']}`.", ""]
    if train.get("continued_code_differs"):
        lines += ["> **Warning:** the run it continued from was trained by other training code "
                  "(`continued_code_differs`): the checkpoint holds steps of two versions of the code.", ""]
    return lines


@dataclass(frozen=True)
class RunFacts:
    """What the report says about this run besides its config: metrics by benchmark, the
    provenance of each, what the training data was decontaminated against, the profile's
    settings, the dry-run notice, the generation metadata by benchmark and the training metrics."""

    metrics: Mapping[str, Mapping[str, Any]]
    origins: Mapping[str, Provenance]
    decontaminated: Sequence[str] = ()
    profile: Mapping[str, Any] = field(default_factory=dict)
    notice: str | None = None
    generations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    train: Mapping[str, Any] = field(default_factory=dict)


def render_report(config: ReportConfig, facts: RunFacts, charts: Iterable[str] = ()) -> str:
    """The whole `metrics/report.md`; `charts` are the lines of its charts section."""
    metrics = facts.metrics
    frame = results_table(config, metrics)
    lines = ["# Benchmark report", ""]
    if facts.notice:
        lines += [facts.notice, ""]
    lines += [*_table(config, frame), ""]
    lines += [line for warning in batch_shape_warnings(facts.generations) for line in (warning, "")]
    if (where := standing(frame)) is not None:
        lines += [where, ""]
    lines += ["Scores are pass@1 in percent, as WizardCoder's table prints them, ranked by the first column this "
              "run has a figure in. Our HumanEval+/MBPP+ columns are EvalPlus's plus tests (`plus_pass@1`); '-' is "
              "a figure not run here or not published.", ""]
    lines += charts
    lines += ["## Sources of the published figures", "",
              f"The rows of WizardCoder's table, as its README ({README}) and model cards print it:", ""]
    lines += [_source_line(row) for row in ROWS] + [""]
    lines += ["## What produced our figures", "", *markdown_table(_origins_frame(facts)), "",
              "md5 values are the ones dvc.lock records (`dvc status` tells whether they are current).", ""]
    lines += training_lines(facts.train)
    lines += generation_lines({b: facts.generations.get(b, {}) for b in metrics})
    lines += ["## Decontamination", "", *decontamination_lines(list(metrics), facts.decontaminated), ""]
    settings = pd.DataFrame({"setting": [f"`{key}`" for key in facts.profile],
                             "value": ["null" if v is None else v for v in facts.profile.values()]})
    lines += [f"## Profile: {config.profile}", "", *markdown_table(settings), ""]
    return "\n".join(lines)


def markdown_table(frame: pd.DataFrame) -> list[str]:
    """The lines of a Markdown table with `frame`'s columns and values as text."""
    header = ["| " + " | ".join(str(c) for c in frame.columns) + " |", "|" + " --- |" * len(frame.columns)]
    return header + ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]


def _table(config: ReportConfig, frame: pd.DataFrame) -> list[str]:
    shown = pd.DataFrame({"Model": [_model_cell(m, kind) for m, kind in zip(frame["model"], frame["kind"])]})
    for column in frame.columns[2:]:
        shown[column] = frame[column].map(lambda v: "-" if pd.isna(v) else f"{v:.1f}")
    shown["Source"] = [_source_link(m, kind) for m, kind in zip(frame["model"], frame["kind"])]
    return markdown_table(shown)


def _model_cell(name: str, kind: str) -> str:
    return {"ours": f"**{name}**", "marked": f"{name} **← this profile's row**"}.get(kind, name)


def _source_link(name: str, kind: str) -> str:
    if kind == "ours":
        return "this run"
    row = published_row(name)
    return f"[{'paper' if row.source == PAPER else 'model card'}]({row.source})"


def _source_line(row: PublishedRow) -> str:
    base = f" (fine-tuned from {row.base_model})" if row.base_model and not row.reference else ""
    return f"- **{row.name}**{base}: {row.source}" + (f"; {row.note}" if row.note else "") + "."


def _origins_frame(facts: RunFacts) -> pd.DataFrame:
    ks = _ks(facts.metrics)
    return pd.DataFrame([{"benchmark": benchmark, "tasks": values.get("n_tasks", "-"),
                          "samples": values.get("n_samples", "-"), **{k: _pct(values.get(k)) for k in ks},
                          "model": f"`{origin.model}`", "model md5": _md5(origin.model_md5),
                          "problems md5": _md5(origin.problems_md5), "training set md5": _md5(origin.dataset_md5)}
                         for benchmark, values in facts.metrics.items() for origin in [facts.origins[benchmark]]])


def _ks(metrics: Mapping[str, Mapping[str, Any]]) -> list[str]:
    keys = {k for values in metrics.values() for k in values if "pass@" in k}
    return sorted(keys, key=lambda k: (k.startswith("plus"), int(k.split("@")[1])))


def _cell(value: Any) -> Any:
    """A JSON value as one table cell: a mapping as `key: value` pairs."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return value


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * float(value):.1f}"


def _md5(value: str | None) -> str:
    return f"`{value}`" if value else "not in dvc.lock"
