"""The settings under which float results on the CPU are the same bits on every x86-64 machine
with AVX2 (Intel's since 2013, AMD's since 2015).

Three things make a CPU's results depend on the machine: the vector width ATen's kernels are
chosen for (AVX2 here, AVX-512 there: other orders of additions, another path for random
weights), the code path MKL chooses for the CPU (matrix products), and how many threads a
reduction is split over (a bias gradient sums over the batch). The default profile builds,
trains and runs its model on the CPU, and dvc.lock records the md5 of each file it makes; so
there, the model is built and generation runs with ATen's AVX2 kernels and MKL's AVX2 code path
in its strict conditional numerical reproducibility mode, and each training rank with one thread
as well: `make repro` writes the same bytes on any such machine. Generation keeps a thread per
core: MKL's strict mode makes its products independent of the thread count, and the default
model's logits were the same bytes on one and two threads. A CPU without AVX2 computes its own
bytes; the baseline kernels that every x86-64 CPU has would cover it, at 2.4 times the default
profile's training time (bench/README.md).

ATen and MKL read these variables at their first operation: they take effect in a process that
has not run one yet (a stage process, a rank, a generation shard), not in one that has.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

PORTABLE_KERNELS = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2,STRICT"}
TRAINING_RANK = {**PORTABLE_KERNELS, "OMP_NUM_THREADS": "1"}


@contextmanager
def environment(updates: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for what runs inside (and for the processes it starts), then
    restore them."""
    saved = {key: os.environ.get(key) for key in updates}
    os.environ.update(updates)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
