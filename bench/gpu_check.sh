#!/usr/bin/env bash
# The GPU check in one command, from the repository root of a CUDA machine:
#   bash bench/gpu_check.sh [--mode all|paper|quick] [--out gpu_check.json] [--steps N] [--data code_alpaca_2k.json]
# First the plan for the GPUs nvidia-smi lists (no GPU touched yet; bench/gpu_plan.py): the paper
# profile's settings on every GPU (fp16 with ZeRO-3 offload and bf16 with ZeRO-3, checkpointing,
# one rank per GPU, then one generation shard per GPU and a batch driven out of memory), and the
# one-rank throughput rows (packed, length-grouped, LoRA; batched and served generation), each
# training row at the batch bench/train_memory.py fits on the smallest card. Then each row:
# tokens/s, MFU, peak memory beside its estimate, or its error in one line; one table, also
# written as JSON. Without a GPU it says so in one line and exits. `--cpu-dry-run` runs the
# checks on the CPU with a tiny model (what tests/bench/test_gpu_check.py runs).
#
# A bare machine without network: the project runs from this folder (PYTHONPATH); the packages
# the Python lacks are installed into .whl/prefix from the wheelhouse .whl/, dependencies and
# all, which `python -m bench.gpu_wheels build --python-version X.Y` makes on a connected machine
# (see bench/gpu_wheels.py). A CPU build of torch (a .venv carried from a CPU machine) is
# replaced there by the wheelhouse's CUDA build; without one the check says what to install.
set -uo pipefail
cd "$(dirname "$0")/.."

dry_run=0
for arg in "$@"; do [ "$arg" = "--cpu-dry-run" ] && dry_run=1; done
if [ "$dry_run" = 0 ] && ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu_check: no NVIDIA GPU here (nvidia-smi lists none); nothing to check. Run it on a CUDA machine."
  exit 0
fi
if [ -x .venv/bin/python ]; then PY="${PYTHON:-.venv/bin/python}"; else PY="${PYTHON:-python3}"; fi
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "gpu_check: $PY is Python $("$PY" -V 2>&1); the project needs 3.11 or newer"; exit 2; }

prefix="$PWD/.whl/prefix"
sites=$("$PY" -c 'import sys, sysconfig; p = sys.argv[1]
print(":".join(dict.fromkeys(sysconfig.get_path(k, vars={"base": p, "platbase": p}) for k in ("purelib", "platlib"))))' "$prefix")
export PYTHONPATH="$PWD:$sites${PYTHONPATH:+:$PYTHONPATH}" PATH="$prefix/bin:$PATH"
install() {  # pip resolves every dependency from .whl/ alone, keeping what the Python already has
  "$PY" -m pip install -q --no-index --find-links .whl --prefix "$prefix" --no-warn-script-location "$@"
}

missing=$("$PY" -m bench.gpu_wheels missing)
if [ -n "$missing" ] && ls .whl/*.whl >/dev/null 2>&1; then
  echo "gpu_check: installing from .whl/ into .whl/prefix: $(echo $missing)"
  install $missing || { echo "gpu_check: pip could not install from .whl/ (above); rebuild it: python -m bench.gpu_wheels build"; exit 2; }
elif [ -n "$missing" ]; then
  echo "gpu_check: MISSING Python packages: $(echo $missing). Install them (pip install -e .), or without network" \
       "build the wheelhouse on a connected machine (python -m bench.gpu_wheels build --python-version" \
       "$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')) and carry .whl/ here"
  exit 2
fi
if [ "$dry_run" = 0 ] && ls .whl/torch-*.whl >/dev/null 2>&1 \
   && "$PY" -c 'import sys, torch; sys.exit(torch.version.cuda is not None)' 2>/dev/null; then
  echo "gpu_check: $PY's torch is a CPU build: installing the CUDA build from .whl/ into .whl/prefix"
  install --ignore-installed "$("$PY" -m bench.gpu_wheels pin torch)" || exit 2
fi
exec "$PY" -m bench.gpu_check "$@"
