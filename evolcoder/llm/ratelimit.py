"""Client-side rate limits (a token bucket per limit: requests and tokens per minute) and the
backoff between retries."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    """Refills at `per_minute / 60` units a second and holds at most one second's worth.

    A cost larger than the bucket is let through once the bucket is full and drives it
    negative, so large requests wait their share instead of waiting forever. Waiters are
    served in arrival order.
    """

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self._level = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = asyncio.Lock()

    async def acquire(self, cost: float = 1.0) -> None:
        async with self._lock:
            needed = min(cost, self.capacity)
            while True:
                self._refill()
                if self._level >= needed:
                    self._level -= cost
                    return
                await self._sleep((needed - self._level) / self.rate)

    def _refill(self) -> None:
        now = self._clock()
        self._level = min(self.capacity, self._level + (now - self._updated) * self.rate)
        self._updated = now


def backoff_delay(base_s: float, max_s: float, attempt: int, retry_after: float | None,
                  jitter: random.Random) -> float:
    """Seconds before retry number `attempt`: the server's Retry-After (capped at `max_s`) when
    given, else exponential backoff from `base_s`, capped at `max_s`, with jitter (half to all of it)."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), max_s)
    backoff = min(max_s, base_s * 2 ** (attempt - 1))
    return backoff / 2 + jitter.uniform(0, backoff / 2)
