"""What a benchmark is: its problems (one `Problem` type for all), and the `Benchmark` interface
each benchmark module implements: where its problems come from, its generation prompt, the
program that tests a sample (or EvalPlus's output comparison), its decontamination texts and
the report's columns it fills.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from evolcoder.benchmarks.sources import read_local
from evolcoder.errors import BenchmarkUnavailable


@dataclass(frozen=True)
class Release:
    """A published version of a benchmark's data: how many tasks it has, the tag of its public
    download (None: there is none, pass the file) and the download's sha256 (None: not pinned)."""

    tasks: int
    tag: str | None
    sha256: str | None = None


@dataclass(frozen=True)
class Problem:
    """A benchmark task.

    `prompt` is what a completion continues (HumanEval's signature and docstring; empty for
    MBPP); `text` the natural-language task (MBPP) or the docstring prompt (MBPP+).
    `canonical_solution` is as its source ships it (a function body for HumanEval(+), a whole
    program for MBPP(+)); `reference` is always the whole reference program, set by the
    benchmark when it builds the problem (`Benchmark.load`). `test` is test
    code ending in a `check(candidate)` for HumanEval; MBPP keeps its asserts in `test_list`
    and setup code in `test_setup`. EvalPlus problems carry their inputs.
    """

    benchmark: str
    task_id: str
    entry_point: str
    prompt: str = ""
    text: str = ""
    canonical_solution: str = ""
    test: str = ""
    test_list: tuple[str, ...] = ()
    test_setup: str = ""
    challenge_test_list: tuple[str, ...] = ()
    base_inputs: list[Any] = field(default_factory=list)
    plus_inputs: list[Any] = field(default_factory=list)
    atol: float = 0.0
    contract: str = ""
    assertion: str = ""
    reference: str = ""


@dataclass(frozen=True)
class Column:
    """A column of the report's table that a benchmark fills with one of its metrics (its
    published figures: `evolcoder.report.published`). The seed's table (HumanEval, HumanEval+,
    MBPP, MBPP+) always shows; other columns show when their benchmark is enabled."""

    name: str
    metric: str
    seed_table: bool = False


class Benchmark:
    """One benchmark. Subclasses set the attributes and implement `problems` and `prompt` (and
    `public_rows` when the benchmark has a public source); its instance is listed in
    `registry.BENCHMARKS`."""

    name: str  # the key of the `benchmarks` params section and of the generate@/evaluate@ stages
    default_source: str = ""  # what `public_rows` reads, for messages and the README
    # EvalPlus benchmarks compare outputs with the canonical solution's on base and plus inputs;
    # `oracles` names EvalPlus's dataset whose special oracles apply ("humaneval" or "mbpp").
    compares_outputs: bool = False
    oracles: str = ""
    # WizardCoder's extraction cuts a response at these markers (`evolcoder.benchmarks.extract`).
    cut_markers: tuple[str, ...] = ('if __name__ == "__main__":', "# Example usage")
    columns: tuple[Column, ...] = ()
    # Published versions by name, for benchmarks that have several (EvalPlus's); `load(None)`
    # reads `default_version`'s download.
    versions: dict[str, Release] = {}
    default_version: str = ""

    def load(self, path: str | None) -> list[Problem]:
        """Every problem, from the local JSONL `path` or (None) the public source."""
        return self.built(read_local(path) if path else self.public_rows(), path)

    def built(self, rows: list[dict[str, Any]], where: str | None) -> list[Problem]:
        """`problems(rows, where)`, each with its whole reference program."""
        return [replace(p, reference=self.reference_program(p)) for p in self.problems(rows, where)]

    def problems(self, rows: list[dict[str, Any]], where: str | None) -> list[Problem]:
        """Problems from rows of the benchmark's own format; `where` names their file in errors."""
        raise NotImplementedError

    def public_rows(self, version: str | None = None) -> list[dict[str, Any]]:
        """The rows of the benchmark's public source, at `version` where it has versions (what
        `load(None)` reads and the `fetch` stage saves)."""
        raise BenchmarkUnavailable(f"{self.name} has no public source: give a local JSONL of its problems")

    def release(self, version: str | None) -> Release:
        """The published `version` (None: `default_version`) of a benchmark that has versions."""
        version = version or self.default_version
        if version not in self.versions:
            known = ", ".join(self.versions) or "none: it has one version"
            raise BenchmarkUnavailable(f"{self.name} has no version {version!r} (known: {known})")
        return self.versions[version]

    def load_version(self, path: str | None, version: str) -> list[Problem]:
        """The problems of published `version`: from `path`, which must have its tasks, or its download."""
        release = self.release(version)
        if path is None and release.tag is None:
            raise BenchmarkUnavailable(f"{self.name} {version} has no public download: pass its file "
                                       f"(--problems, or data/benchmarks/{self.name}.jsonl)")
        problems = self.load(path) if path is not None else self.built(self.public_rows(version), None)
        if len(problems) != release.tasks:
            raise BenchmarkUnavailable(f"{path or release.tag}: {len(problems)} tasks, but {self.name} {version} "
                                       f"has {release.tasks}; pass the file of that version or leave the version out")
        return problems

    def prompt(self, problem: Problem, tabs: bool = False, style: str = "alpaca") -> str:
        """The generation prompt; `tabs` is WizardCoder's four-spaces-to-tab rewrite, `style` which
        of its prompts (`generate.prompt`, see `evolcoder.templates.PROMPT_STYLES`)."""
        raise NotImplementedError

    def task_id(self, raw: Any) -> str:
        """A samples file's task id in this benchmark's spelling."""
        return str(raw)

    def reference_program(self, problem: Problem) -> str:
        """The canonical solution as a whole program (most sources ship it whole)."""
        return problem.canonical_solution

    def test_program(self, problem: Problem, program: str) -> str:
        """`program` followed by the benchmark's own tests (benchmarks that do not compare outputs)."""
        raise NotImplementedError(f"{self.name} compares outputs instead of running a test program")

    def inputs(self, problem: Problem) -> dict[str, list[Any]]:
        """Base and plus inputs as Python values (benchmarks that compare outputs)."""
        return {"base": problem.base_inputs, "plus": problem.plus_inputs}

    def serialize_inputs(self, problem: Problem, inputs: list[Any]) -> list[Any]:
        """Some of `inputs(problem)` as the benchmark's file spells them (for result rows)."""
        return inputs

    def decontam_texts(self, problem: Problem) -> list[str]:
        """The parts of a problem a training row must not contain: its task text, MBPP's asserts,
        MBPP+'s assertion and the reference program. Test harness code (HumanEval's `check`) is
        left out: its words are boilerplate that tasks share."""
        return [problem.text, "\n".join(problem.test_list), problem.assertion, problem.reference]
