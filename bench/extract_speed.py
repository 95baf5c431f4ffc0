"""Code extraction on pathological responses: ours against EvalPlus's sanitizer, in one run.

Ours should scale with the text: each response shape is made at 300 and at 3,000 units, and 10x
the text should take ~10x the time (a quadratic method takes ~100x). EvalPlus's `code_extract`
parses every pair of lines (cubic), so it is timed at 30 and 100 units only (100 lines already
take seconds). Prints, per shape, our seconds and growth, EvalPlus's seconds and growth for 3.3x
the text, and our speed-up at 100 units. Timings are the best of REPEATS runs. Exits 1 if our
growth for 10x the text exceeds MAX_GROWTH.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


from evalplus.sanitize import sanitize

from evolcoder.benchmarks.extract import extract_code

REPEATS = 3
MAX_GROWTH = 20.0  # for 10x the text: linear with headroom for noise, far below quadratic's ~100x
LINE = "x = [i for i in range(10)]  # some code\n"
SHAPES: dict[str, Callable[[int], str]] = {
    "fenced response": lambda n: "Text\n```python\n" + LINE * n + "```\n",
    "unfenced code and prose": lambda n: ("def f(a):\n" + "    " + LINE) * n + "Prose here.\n",
    "prose only": lambda n: "words and more words " * n,
    "no newlines": lambda n: "a" + " " * (40 * n) + "b",
    "many fences": lambda n: "```\n```py\n" * n,
}


def best_seconds(fn: Callable[[str], str], text: str) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - start)
    return max(min(times), 1e-6)


def main() -> int:
    ours = lambda text: extract_code(text, "mbpp", entry_point="f")  # noqa: E731
    theirs = lambda text: sanitize(text, entrypoint="f")  # noqa: E731
    print(f"{'shape':24} {'ours 300':>9} {'ours 3000':>10} {'growth':>7} {'evalplus 30':>12} "
          f"{'evalplus 100':>13} {'growth':>7} {'speed-up at 100':>16}")
    worst = 0.0
    for name, make in SHAPES.items():
        o_small, o_large = best_seconds(ours, make(300)), best_seconds(ours, make(3000))
        t_small, t_large = best_seconds(theirs, make(30)), best_seconds(theirs, make(100))
        o_100 = best_seconds(ours, make(100))
        worst = max(worst, o_large / o_small)
        print(f"{name:24} {o_small:9.4f} {o_large:10.4f} {o_large / o_small:6.1f}x {t_small:12.4f} "
              f"{t_large:13.4f} {t_large / t_small:6.1f}x {t_large / o_100:15.0f}x")
    verdict = "met" if worst <= MAX_GROWTH else "MISSED"
    print(f"our worst growth for 10x the text: {worst:.1f}x (target <= {MAX_GROWTH:g}x: {verdict})")
    return 0 if worst <= MAX_GROWTH else 1


if __name__ == "__main__":
    sys.exit(main())
