"""Where each stage of dvc.yaml reads and writes, declared once.

One class per stage: a field declared with `reads` is one of its data deps in dvc.yaml, one
declared with `writes` one of its outs, metrics or plots;
tests/architecture/test_dvc_paths.py checks that dvc.yaml lists exactly these. A file that
two stages share is a constant here, named by both classes. A path a param names
(`${seed.source}`, `${generate.model}`, a fetch entry's `${item.to}`) is declared by that param
and is not here. A foreach stage's class is built for its item (`GenerateFiles.of("mbpp")`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

READS, WRITES = "reads", "writes"

SEED = Path("data/seed/seed.jsonl")
EVOL = Path("data/evol")  # round_<k>.jsonl (records.round_filename), the manifest, stats.json
VERIFIED = Path("data/verify/rows")  # the labelled copies: records.SEED_ROWS and the round files
BENCHMARKS = Path("data/benchmarks")  # <name>.jsonl: the problems of each benchmark
DATASET_STATS = Path("data/dataset/stats.json")
TRAIN_SET = Path("data/dataset/train.jsonl")
COMPOSITION_PLOT = Path("data/dataset/plots/composition.json")
INSTRUCTION_LENGTH_PLOT = Path("data/dataset/plots/instruction_length.json")
PASS_RATE_PLOT = Path("data/verify/plots/pass_rate.json")
EVOLVE_METRICS = Path("metrics/evolve.json")
CHECKPOINT = Path("models/checkpoint")
TRAIN_CURVES = Path("metrics/train_curves")  # DVCLive's folder: metrics.json and plots/metrics/<name>.tsv
CURVE_PLOTS = TRAIN_CURVES / "plots" / "metrics"
GENERATIONS = Path("data/generations")
TRAIN_METRICS = Path("metrics/train.json")
EVALUATIONS = Path("data/eval")


def reads(default: str | Path | None = None) -> Any:
    """A field holding an input of the stage (a data dep in dvc.yaml)."""
    return _declared(READS, default)


def writes(default: str | Path | None = None) -> Any:
    """A field holding an output of the stage (an out, metric or plot in dvc.yaml)."""
    return _declared(WRITES, default)


def _declared(role: str, default: str | Path | None) -> Any:
    if default is None:
        return dataclasses.field(metadata={"role": role})
    return dataclasses.field(default=Path(default), metadata={"role": role})


def declared(files: Any, role: str) -> list[Path]:
    """The paths of a stage's files object that it `reads` or `writes`."""
    return [getattr(files, f.name) for f in dataclasses.fields(files) if f.metadata.get("role") == role]


def benchmark_problems(name: str) -> Path:
    """Where the pipeline reads benchmark `name`'s problems."""
    return BENCHMARKS / f"{name}.jsonl"


def generation_meta(samples: str | Path) -> Path:
    """What produced a samples file, beside it: data/generations/humaneval.jsonl -> humaneval.meta.json."""
    samples = Path(samples)
    return samples.with_name(f"{samples.stem}.meta.json")


def benchmark_metrics(name: str) -> Path:
    """The pass@k of benchmark `name`, which evaluate@<name> writes and the report reads."""
    return Path("metrics") / f"{name}.json"


@dataclass(frozen=True)
class SeedFiles:
    records: Path = writes(SEED)
    rejects: Path = writes("data/seed/rejects.jsonl")
    stats: Path = writes("data/seed/stats.json")  # every counter
    metrics: Path = writes("metrics/seed.json")  # the headline `dvc exp show` compares


@dataclass(frozen=True)
class EvolveFiles:
    seed: Path = reads(SEED)
    out_dir: Path = writes(EVOL)
    ledger: Path = writes("data/llm_cache")  # the call ledger, kept across runs
    metrics: Path = writes(EVOLVE_METRICS)

    @property
    def stats(self) -> Path:
        """Every counter, per round and reason (inside the output folder)."""
        return self.out_dir / "stats.json"


@dataclass(frozen=True)
class VerifyFiles:
    seed: Path = reads(SEED)
    evol_dir: Path = reads(EVOL)
    out_dir: Path = writes(VERIFIED)
    ledger: Path = writes("data/verify/llm_cache")  # `tests` mode's calls (evolve owns data/llm_cache)
    metrics: Path = writes("metrics/verify.json")
    plot: Path = writes(PASS_RATE_PLOT)


@dataclass(frozen=True)
class DatasetFiles:
    verified: Path = reads(VERIFIED)
    benchmarks: Path = reads(BENCHMARKS)
    train: Path = writes(TRAIN_SET)
    removed: Path = writes("data/dataset/removed.jsonl")
    stats: Path = writes(DATASET_STATS)
    metrics: Path = writes("metrics/dataset.json")
    composition_plot: Path = writes(COMPOSITION_PLOT)
    instruction_length_plot: Path = writes(INSTRUCTION_LENGTH_PLOT)


@dataclass(frozen=True)
class TrainFiles:
    data: Path = reads(TRAIN_SET)
    checkpoint: Path = writes(CHECKPOINT)
    metrics: Path = writes(TRAIN_METRICS)
    curves_summary: Path = writes(TRAIN_CURVES / "metrics.json")  # DVCLive's: last step, loss and lr
    curve_plots: Path = writes(CURVE_PLOTS)  # DVCLive's per-step loss.tsv and lr.tsv

    @property
    def curves_dir(self) -> Path:
        """The folder DVCLive is given; it names the two outputs above inside it."""
        return self.curves_summary.parent


@dataclass(frozen=True)
class GenerateFiles:
    problems: Path = reads()
    samples: Path = writes()
    meta: Path = writes()  # the library versions and batch shapes behind the samples

    @classmethod
    def of(cls, benchmark: str) -> GenerateFiles:
        samples = GENERATIONS / f"{benchmark}.jsonl"
        return cls(benchmark_problems(benchmark), samples, generation_meta(samples))

    @property
    def work_dir(self) -> Path:
        """Shard files and resume state: ignored by git, not a DVC output."""
        return self.samples.parent / ".work" / self.samples.stem


@dataclass(frozen=True)
class EvaluateFiles:
    problems: Path = reads()
    samples: Path = reads()
    results: Path = writes()
    metrics: Path = writes()

    @classmethod
    def of(cls, benchmark: str) -> EvaluateFiles:
        generated = GenerateFiles.of(benchmark)
        return cls(generated.problems, generated.samples, EVALUATIONS / f"{benchmark}.jsonl",
                   benchmark_metrics(benchmark))


@dataclass(frozen=True)
class ReportFiles:
    """The report reads every enabled benchmark's `benchmark_metrics` and generation meta file;
    DVC cannot list those, so it depends on the folders every evaluate@<bench> and generate@<bench>
    write into."""

    train_loss: Path = reads(CURVE_PLOTS / "loss.tsv")
    composition_plot: Path = reads(COMPOSITION_PLOT)
    instruction_length_plot: Path = reads(INSTRUCTION_LENGTH_PLOT)
    pass_rate_plot: Path = reads(PASS_RATE_PLOT)
    evaluations: Path = reads(EVALUATIONS)
    generations: Path = reads(GENERATIONS)
    train_metrics: Path = reads(TRAIN_METRICS)
    dataset_stats: Path = reads(DATASET_STATS)
    evolve_metrics: Path = reads(EVOLVE_METRICS)
    train_set: Path = reads(TRAIN_SET)
    report: Path = writes("metrics/report.md")
    charts: Path = writes("metrics/charts")  # one SVG per chart, embedded by the report
    passk_plot: Path = writes("metrics/passk.json")
    pass1_plot: Path = writes("metrics/pass1_vs_paper.json")


# The stages of dvc.yaml that read or write a file not named by a param.
STAGE_FILES: dict[str, type] = {
    "seed": SeedFiles, "evolve": EvolveFiles, "verify": VerifyFiles, "dataset": DatasetFiles,
    "train": TrainFiles, "generate": GenerateFiles, "evaluate": EvaluateFiles, "report": ReportFiles,
}
