"""Decontamination: find training rows that share text with a benchmark problem.

A row is contaminated when its instruction, input or answer shares an n-gram of `ngram`
content words with a benchmark problem's text, MBPP tests or reference program, or contains a
benchmark entry point's exact signature (`def add(x: int, y: int):`, whitespace ignored).
A task text shorter than `ngram` content words (a third of MBPP's: "Write a function to find
the perimeter of a square.") counts as one n-gram of its own length, from 5 words up.

Content words are lower-cased words and identifiers without Python keywords, builtins,
numbers and one-letter names. Those tokens carry no identity: counted as words, two nested
`for i in range(n)` loops or a list of digits share a 10-gram with some benchmark solution,
and 3% of clean Code Alpaca rows matched; over content words 0.1% do, while a verbatim
problem still matches through its docstring and solution.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from evolcoder.config import check
from evolcoder.benchmarks import BenchmarkUnavailable, Problem, load_benchmark, names, spec_of
from evolcoder.errors import EvolcoderError

_WORD = re.compile(r"\w+")
_RAW_TOKEN = re.compile(r"\w+|[^\w\s]")
_DEF = re.compile(r"\bdef\s+(\w+)\s*\(")
MIN_WHOLE_TEXT = 5  # content words; shorter task texts are too generic to match as a whole
_STOP = frozenset(
    {k.lower() for k in keyword.kwlist}
    | {name for name in dir(builtins) if name.islower() and not name.startswith("_")}
    | {"self", "cls"}
)


class DecontamError(EvolcoderError):
    """A benchmark named for decontamination could not be loaded."""


@dataclass
class DecontamConfig:
    """Which benchmarks the training set is cleaned against: every scored one (the `benchmarks`
    params list) but those in `skip`, and the extra `benchmarks` listed here (e.g. the test sets,
    while only `mbpp_valid` is scored to choose a recipe)."""

    ngram: int = 10
    signatures: bool = True
    benchmarks: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        check(self.ngram >= 3, "dataset.decontam.ngram", f"must be at least 3, got {self.ngram}")
        for key in ("benchmarks", "skip"):
            unknown = sorted(set(getattr(self, key)) - set(names()))
            check(not unknown, f"dataset.decontam.{key}", f"unknown {unknown}; choose from {names()}")

    def against(self, scored: Sequence[str]) -> list[str]:
        """The benchmarks to decontaminate against when `scored` are scored, in registry order."""
        stray = sorted(set(self.skip) - set(scored))
        check(not stray, "dataset.decontam.skip", f"names {stray}, which the benchmarks list does not score "
                                                  f"(scored: {list(scored)})")
        wanted = (set(scored) - set(self.skip)) | set(self.benchmarks)
        return [name for name in names() if name in wanted]


@dataclass(frozen=True)
class Contamination:
    """Why a row matched: the task with the most shared n-grams (or signature), and all others."""

    benchmark: str
    task_id: str
    kind: str  # "ngram" or "signature"
    evidence: str
    matches: tuple[tuple[str, str, int], ...]  # (benchmark, task_id, shared n-grams)

    def as_record(self) -> dict:
        return {
            "benchmark": self.benchmark,
            "task_id": self.task_id,
            "match": self.kind,
            "evidence": self.evidence,
            "matches": [{"benchmark": b, "task_id": t, "ngrams": n} for b, t, n in self.matches],
        }


def content_words(text: str) -> list[str]:
    """The words n-grams are made of (see the module docstring)."""
    return [w for w in _WORD.findall(text.lower()) if len(w) > 1 and not w.isdigit() and w not in _STOP]


def signatures(text: str) -> list[tuple[str, str]]:
    """(name, key) of each `def name(...) -> ...:` in `text`; the key has no whitespace."""
    found = []
    for m in _DEF.finditer(text):
        end = _signature_end(text, m.end())
        if end is not None:
            found.append((m.group(1), re.sub(r"\s+", "", text[m.start():end])))
    return found


def _signature_end(text: str, pos: int) -> int | None:
    """Index just past the ':' closing the signature whose '(' ends before `pos`."""
    depth = 1
    while pos < len(text) and depth:
        depth += {"(": 1, ")": -1}.get(text[pos], 0)
        pos += 1
    colon = text.find(":", pos)
    if depth or colon < 0 or "\n" in text[pos:colon]:
        return None
    return colon + 1


class BenchmarkIndex:
    """Every n-gram and entry-point signature of a set of benchmark problems."""

    def __init__(self, problems: Iterable[Problem], ngram: int = 10, use_signatures: bool = True) -> None:
        self.ngram = ngram
        self.use_signatures = use_signatures
        self._texts: dict[tuple[str, str], str] = {}
        self._order: dict[tuple[str, str], int] = {}  # breaks the last ties: benchmarks as listed
        self._ngrams: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self._signatures: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self._lengths = {ngram}  # of the n-grams indexed
        for problem in problems:
            self._add(problem)

    def __len__(self) -> int:
        return len(self._texts)

    def _add(self, problem: Problem) -> None:
        task = (problem.benchmark, problem.task_id)
        self._texts[task] = text = "\n".join(spec_of(problem).decontam_texts(problem))
        self._order.setdefault(task, len(self._order))
        grams = set(ngrams(content_words(text), self.ngram))
        short = content_words(problem.text)
        if MIN_WHOLE_TEXT <= len(short) < self.ngram:
            grams.add(" ".join(short))
            self._lengths.add(len(short))
        for gram in grams:
            self._ngrams[gram].append(task)
        for name, key in signatures(problem.reference):
            if name == problem.entry_point:
                self._signatures[key].append(task)

    def match(self, texts: Sequence[str]) -> Contamination | None:
        """The contamination of a row made of `texts`, or None when it is clean."""
        text = "\n".join(texts)
        shared: dict[tuple[str, str], list[str]] = defaultdict(list)
        words = content_words(text)
        for gram in {g for n in self._lengths for g in ngrams(words, n)}:
            for task in self._ngrams.get(gram, ()):
                shared[task].append(gram)
        signature_hits = self._signature_hits(text)
        if not shared and not signature_hits:
            return None
        counts = {task: len(shared.get(task, ())) for task in set(shared) | set(signature_hits)}
        ranked = sorted(counts, key=lambda t: (-counts[t], t not in signature_hits, self._order[t]))
        best = self._closest(text, [t for t in ranked if counts[t] == counts[ranked[0]]])
        ranked.remove(best)
        ranked.insert(0, best)
        if best in shared:
            kind, evidence = "ngram", min(shared[best])
        else:
            kind, evidence = "signature", signature_hits[best]
        return Contamination(best[0], best[1], kind, evidence, tuple((b, t, counts[(b, t)]) for b, t in ranked))

    def _signature_hits(self, text: str) -> dict[tuple[str, str], str]:
        if not self.use_signatures:
            return {}
        return {task: key for _, key in signatures(text) for task in self._signatures.get(key, ())}

    def _closest(self, text: str, tied: list[tuple[str, str]]) -> tuple[str, str]:
        """Of tasks tied on content n-grams (HumanEval/56 and /61 differ only in their bracket
        characters), the one sharing most n-grams of all tokens, punctuation included; `tied`
        is in rank order, which settles ties left after that."""
        if len(tied) == 1:
            return tied[0]
        row = set(ngrams(_RAW_TOKEN.findall(text), self.ngram))

        def overlap(task: tuple[str, str]) -> int:
            return len(row.intersection(ngrams(_RAW_TOKEN.findall(self._texts[task]), self.ngram)))

        return max(tied, key=overlap)  # max keeps the first of equals


def ngrams(words: Sequence[str], n: int) -> Iterable[str]:
    """Every run of `n` consecutive words, joined by spaces."""
    return (" ".join(words[i:i + n]) for i in range(len(words) - n + 1))


def load_problems(files: Mapping[str, str | Path | None]) -> list[Problem]:
    """The problems of each benchmark from its file (None: its public source), or a DecontamError
    saying how to fix the source."""
    problems: list[Problem] = []
    for name, path in files.items():
        try:
            problems.extend(load_benchmark(name, None if path is None else str(path)))
        except (BenchmarkUnavailable, OSError, ValueError) as e:
            raise DecontamError(
                f"cannot load {name} to decontaminate against it ({e}). Put its problems in that file, or "
                f"list {name} under dataset.decontam.skip to train without decontaminating against it."
            ) from e
    return problems
