"""Seeded choice of an evolution method per item and round."""

from __future__ import annotations

import hashlib
import random


def choose_method(weights: dict[str, float], seed: int, item_id: str, round: int) -> str:
    """Draw a method by weight from an RNG seeded by (seed, item, round).

    The draw depends on nothing else, so it is the same whatever the pool order, the
    concurrency or an interrupted earlier run; a parent that stays in the pool draws afresh
    in the next round.
    """
    digest = hashlib.sha256(f"{seed}\x1f{item_id}\x1f{round}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    names = [m for m, w in weights.items() if w > 0]
    return rng.choices(names, weights=[weights[m] for m in names])[0]
