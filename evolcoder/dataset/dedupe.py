"""Exact and near-duplicate detection over instruction texts, first copy wins.

Exact duplicates share their text after lower-casing and collapsing whitespace. Near
duplicates have a Jaccard similarity of at least `threshold` between their sets of word
shingles: MinHash LSH (datasketch) proposes candidates and the exact Jaccard of the two
shingle sets decides, so the result does not depend on MinHash's estimation error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH
from tqdm import tqdm

from evolcoder.config import check

_WORD = re.compile(r"\w+")


@dataclass
class DedupeConfig:
    near: bool = True
    threshold: float = 0.85  # Jaccard of word shingles; an evolved child keeps well below it
    shingle: int = 3  # words per shingle
    num_perm: int = 128
    seed: int = 1  # of the MinHash permutations

    def __post_init__(self) -> None:
        # above 0.95, 128 permutations leave LSH fewer than two bands
        check(0.0 < self.threshold <= 0.95, "dataset.dedupe.threshold",
              f"must be in (0, 0.95], got {self.threshold}; exact duplicates need no threshold")
        check(self.shingle >= 1, "dataset.dedupe.shingle", f"must be >= 1, got {self.shingle}")
        check(self.num_perm >= 16, "dataset.dedupe.num_perm", f"must be >= 16, got {self.num_perm}")


@dataclass(frozen=True)
class Duplicate:
    """Text `index` repeats the earlier kept text `of` (`kind` 'exact' or 'near')."""

    index: int
    of: int
    kind: str
    similarity: float


def exact_key(text: str) -> str:
    """The text as exact dedupe compares it: lower case, whitespace runs as one space."""
    return " ".join(text.lower().split())


def shingles(text: str, k: int) -> set[str]:
    """The set of `k`-word shingles of `text` (the whole text when it has fewer words)."""
    words = _WORD.findall(text.lower())
    if len(words) <= k:
        return {" ".join(words)}
    return {" ".join(words[i:i + k]) for i in range(len(words) - k + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def find_duplicates(texts: Sequence[str], config: DedupeConfig) -> list[Duplicate]:
    """Duplicates among `texts`, given in priority order: each points at the earliest kept copy."""
    duplicates, first_of = [], {}
    unique = []
    for i, text in enumerate(texts):
        key = exact_key(text)
        if key in first_of:
            duplicates.append(Duplicate(i, first_of[key], "exact", 1.0))
        else:
            first_of[key] = i
            unique.append(i)
    if config.near:
        duplicates.extend(_near_duplicates(texts, unique, config))
    return sorted(duplicates, key=lambda d: d.index)


def _near_duplicates(texts: Sequence[str], indices: list[int], config: DedupeConfig) -> list[Duplicate]:
    sets = {i: shingles(texts[i], config.shingle) for i in indices}
    hashes = MinHash.bulk(
        ([s.encode() for s in sets[i]] for i in indices), num_perm=config.num_perm, seed=config.seed
    )
    lsh = MinHashLSH(threshold=config.threshold, num_perm=config.num_perm)
    found = []
    for i, minhash in tqdm(zip(indices, hashes), total=len(indices), desc="near-dedupe", unit="row",
                           disable=None):
        similar = [(j, jaccard(sets[i], sets[j])) for j in lsh.query(minhash)]
        similar = sorted((j, s) for j, s in similar if s >= config.threshold)
        if similar:
            found.append(Duplicate(i, similar[0][0], "near", round(similar[0][1], 4)))
        else:
            lsh.insert(i, minhash)
    return found
