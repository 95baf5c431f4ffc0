"""The floor of `bench/exec_speed.py`: a bare fork per sample, nothing else.

`python bench/fork_floor.py SAMPLES.jsonl PART PARTS` runs every PARTS-th sample from PART on,
each `[code, test]` line of the file in a child forked for it (no pipes, limits, uid or
namespaces), and prints `[seconds, [passed, ...]]`. It imports what a sandbox worker imports
and holds what its job loop holds (compiled tests, the sample at hand), so its forks cost what
the sandbox's would before any isolation.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time

import evolcoder.exec.worker as worker


def main(path: str, part: int, parts: int) -> None:
    for name in worker._PRELOADED:
        __import__(name)
    gc.freeze()
    tests: dict[str, object] = {}
    passed, start = [], time.perf_counter()
    with open(path) as f:
        for number, line in enumerate(f):
            if number % parts != part:
                continue
            code, test = json.loads(line)
            if test not in tests:
                tests[test] = compile(test, "<test>", "exec")
            pid = os.fork()
            if pid == 0:
                try:
                    namespace: dict = {}
                    exec(code, namespace)
                    exec(tests[test], namespace)
                except BaseException:
                    os._exit(1)
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            passed.append(os.waitstatus_to_exitcode(status) == 0)
    print(json.dumps([time.perf_counter() - start, passed]))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
