"""Which tasks changed verdict between two results, per metric, and in which direction."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from evolcoder.compare.results import Results
from evolcoder.errors import EvolcoderError


@dataclass(frozen=True)
class MetricComparison:
    """One metric's comparison: pass@1 of each side (over its own tasks), and `changed`, the
    tasks both have whose pass fraction differs (columns A, B), in task number order."""

    metric: str
    pass_a: float
    pass_b: float
    changed: pd.DataFrame
    n_common: int

    @property
    def better_in_a(self) -> list[str]:
        return list(self.changed.index[self.changed["A"] > self.changed["B"]])

    @property
    def better_in_b(self) -> list[str]:
        return list(self.changed.index[self.changed["B"] > self.changed["A"]])


@dataclass(frozen=True)
class Comparison:
    a: Results
    b: Results
    metrics: list[MetricComparison]
    only_in_a: list[str]
    only_in_b: list[str]

    @property
    def single_sample(self) -> bool:
        """Whether every task of both sides has one sample (a verdict, not a pass fraction)."""
        return all(not side.samples["task_id"].duplicated().any() for side in (self.a, self.b))


def compare(a: Results, b: Results) -> Comparison:
    """Compare every metric both results have (pass@1 always; plus_pass@1 when both are EvalPlus's)."""
    metrics = [m for m in a.metrics if m in b.metrics]
    tasks_a, tasks_b = a.pass_fractions(metrics[0]).index, b.pass_fractions(metrics[0]).index
    if not tasks_a.intersection(tasks_b).size:
        raise EvolcoderError(f"{a.name} and {b.name} share no task id (first ones: {tasks_a[0]} and {tasks_b[0]}); "
                             "compare results of the same benchmark")
    return Comparison(a, b, [_compare_metric(a, b, m) for m in metrics],
                      sorted(tasks_a.difference(tasks_b), key=_task_order),
                      sorted(tasks_b.difference(tasks_a), key=_task_order))


def _compare_metric(a: Results, b: Results, metric: str) -> MetricComparison:
    fa, fb = a.pass_fractions(metric), b.pass_fractions(metric)
    both = pd.concat({"A": fa, "B": fb}, axis=1, join="inner")
    both = both.loc[sorted(both.index, key=_task_order)]
    return MetricComparison(metric, float(fa.mean()), float(fb.mean()), both[both["A"] != both["B"]], len(both))


def render(comparison: Comparison) -> str:
    """The comparison as text: the two sides, then per metric the pass@1 of each, the counts per
    direction and the tasks that changed."""
    a, b = comparison.a, comparison.b
    lines = [f"A: {a.name} ({_size(a)})", f"B: {b.name} ({_size(b)})"]
    for side, tasks in (("A", comparison.only_in_a), ("B", comparison.only_in_b)):
        if tasks:
            lines.append(f"{len(tasks)} tasks only in {side}, left out of the task lists: {_first(tasks)}")
    passed = "passed in {} only" if comparison.single_sample else "higher pass fraction in {}"
    for m in comparison.metrics:
        lines += ["", f"{m.metric}: A {100 * m.pass_a:.1f}, B {100 * m.pass_b:.1f} "
                      f"(B - A: {100 * (m.pass_b - m.pass_a):+.1f} points)",
                  f"  {passed.format('A')}: {len(m.better_in_a)}, {passed.format('B')}: {len(m.better_in_b)}, "
                  f"unchanged: {m.n_common - len(m.changed)} of {m.n_common} tasks in both"]
        if len(m.changed):
            table = m.changed.astype(bool).replace({True: "pass", False: "fail"}) if comparison.single_sample \
                else m.changed
            text = table.rename_axis("task").reset_index().to_string(index=False, float_format="{:.2f}".format)
            lines += ["", *("  " + line for line in text.splitlines())]
    return "\n".join(lines)


def _task_order(task_id: str) -> tuple[str, int, str]:
    """HumanEval/2 before HumanEval/10: by prefix, then number."""
    prefix, _, number = task_id.rpartition("/")
    return (prefix, int(number), "") if number.isdigit() else (prefix, -1, number)


def _size(results: Results) -> str:
    n_tasks = results.samples["task_id"].nunique()
    return f"{n_tasks} tasks, {len(results.samples)} samples"


def _first(tasks: list[str], n: int = 5) -> str:
    return ", ".join(tasks[:n]) + (f" and {len(tasks) - n} more" if len(tasks) > n else "")
