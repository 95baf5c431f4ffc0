"""Rate limits, backoff and Retry-After parsing, on a fake clock."""

from __future__ import annotations

import asyncio
import email.utils
import time

import pytest

from evolcoder.config import ConfigError
from evolcoder.llm import LLMClient, LLMConfig, LLMRuntime, Ledger
from evolcoder.llm.openai_api import parse_retry_after
from evolcoder.llm.ratelimit import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def grant_times(per_minute: float, costs: list[float]) -> list[float]:
    clock = FakeClock()
    bucket = TokenBucket(per_minute, clock=clock, sleep=clock.sleep)

    async def take_all() -> list[float]:
        times = []
        for cost in costs:
            await bucket.acquire(cost)
            times.append(clock.now)
        return times

    return asyncio.run(take_all())


def test_requests_per_minute_spaces_calls_after_one_second_of_burst():
    times = grant_times(120, [1] * 6)  # 2 a second, a burst of 2
    assert times == pytest.approx([0, 0, 0.5, 1.0, 1.5, 2.0])


def test_a_call_larger_than_the_bucket_waits_its_share():
    times = grant_times(60_000, [3000, 3000, 500])  # 1000 tokens a second, 1000 at the start
    assert times == pytest.approx([0, 3.0, 5.5])  # 6500 tokens granted by 5.5 s


def test_backoff_grows_with_jitter_and_a_retry_after_wins(tmp_path):
    runtime = LLMRuntime(backoff_base_s=1.0, backoff_max_s=8.0)
    with Ledger(tmp_path) as ledger:
        client = LLMClient(LLMConfig(provider="replay"), runtime, ledger, jitter_seed=0)
        for attempt, full in [(1, 1.0), (2, 2.0), (3, 4.0), (5, 8.0), (9, 8.0)]:
            assert full / 2 <= client.retry_delay(attempt, None) <= full
        assert client.retry_delay(4, retry_after=0.25) == 0.25
        assert client.retry_delay(1, retry_after=600) == 8.0  # capped at runtime.llm.backoff_max_s


def test_retry_after_headers_in_seconds_milliseconds_and_dates():
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "3"}) == 0.25
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= parse_retry_after({"retry-after": date}) <= 31
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_config_ranges_are_checked():
    with pytest.raises(ConfigError, match="^runtime.llm.concurrency: must be at least 1"):
        LLMRuntime(concurrency=0)
    with pytest.raises(ConfigError, match="llm.base_url: must be an http:// or https:// URL"):
        LLMConfig(base_url="localhost:8000/v1")  # otherwise every call fails its retries, one by one
    with pytest.raises(ConfigError, match="llm.prices.gpt-4"):
        LLMConfig(prices={"gpt-4": {"input": 0.03}})
