"""Evolution call throughput: the LLM client at `runtime.llm.concurrency` 32 against the same client
making one call at a time, the way WizardLM's evolution script calls the API.

Both runs send the same number of distinct chat calls to the loopback OpenAI-compatible server
(tests/support/llm_server.py, its own process) with 50 ms of latency per call, each with a fresh
temporary ledger, through the real `openai` provider. Target: >= 200 calls/s and >= 10x.

    python -m bench.evolve_speed [--calls 1000] [--latency 0.05] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import tempfile
import time


from tests.support.llm_server import ServerProcess

from evolcoder.llm import ChatRequest, LLMClient, LLMConfig, LLMRuntime, Ledger

TARGET_RATE, TARGET_RATIO = 200.0, 10.0


def make_requests(n: int, tag: str) -> list[ChatRequest]:
    return [ChatRequest(messages=(("user", f"[{tag}] Please increase the difficulty of question {i}."),),
                        model="gpt-3.5-turbo", temperature=1.0, top_p=0.95, max_tokens=2048) for i in range(n)]


def measure(base_url: str, concurrency: int, requests: list[ChatRequest]) -> tuple[float, float]:
    """(calls per second, client CPU milliseconds per call) for one run with a fresh ledger."""
    config = LLMConfig(provider="openai", base_url=base_url, api_key_env=None)
    with tempfile.TemporaryDirectory() as folder, Ledger(folder) as ledger:
        client = LLMClient(config, LLMRuntime(concurrency=concurrency), ledger)
        started, cpu_started = time.perf_counter(), time.process_time()
        results = client.run(requests, desc=f"concurrency {concurrency}")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    failed = [r.error for r in results if not r.ok]
    if failed:
        raise SystemExit(f"{len(failed)} calls failed, e.g. {failed[0]}")
    return len(requests) / elapsed, 1000 * cpu / len(requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    with ServerProcess("--latency", str(args.latency)) as server:
        measure(server.url, args.concurrency, make_requests(32, "warm-up"))
        concurrent, concurrent_cpu = measure(server.url, args.concurrency, make_requests(args.calls, "concurrent"))
        sequential, sequential_cpu = measure(server.url, 1, make_requests(args.calls, "sequential"))
    ratio = concurrent / sequential
    print(f"{args.calls} calls, {args.latency * 1000:.0f} ms latency each, loopback server")
    print(f"concurrency {args.concurrency}: {concurrent:7.1f} calls/s (target >= {TARGET_RATE:.0f}), "
          f"client CPU {concurrent_cpu:.2f} ms/call")
    print(f"sequential loop : {sequential:7.1f} calls/s, client CPU {sequential_cpu:.2f} ms/call")
    print(f"ratio           : {ratio:7.1f}x (target >= {TARGET_RATIO:.0f}x)")
    met = concurrent >= TARGET_RATE and ratio >= TARGET_RATIO
    print("targets met" if met else "TARGETS MISSED")


if __name__ == "__main__":
    main()
