#!/usr/bin/env bash
# One-GPU check of the train stage: the tiny GPTBigCode model, bf16, ZeRO-3 (configs/deepspeed/zero3.json),
# launched through the DeepSpeed launcher like `dvc repro train`, for about a minute of training.
# Prints the GPU, the library versions, what is missing, then tokens/s and peak GPU memory.
# Runs on a bare machine without network: it installs only this project (--no-deps), plus wheels
# from .whl/ when that folder was carried along. Usage, from the repository root:
#   bash bench/gpu_train_check.sh [STEPS]     (default 800 steps of 32 rows)
# PRECISION=fp32 runs the same check on a CPU-only machine (bf16 needs a GPU there).
set -uo pipefail
cd "$(dirname "$0")/.."
STEPS="${1:-800}"
PY="${PYTHON:-python3}"
export PRECISION="${PRECISION:-bf16}"

echo "== GPU"
nvidia-smi || echo "nvidia-smi: not available"
echo "== python and torch"
"$PY" --version
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.version.cuda)' \
  || { echo "MISSING: torch (pip install torch)"; exit 2; }

echo "== packages"
missing=$("$PY" - <<'EOF'
import importlib
need = ["transformers", "deepspeed", "accelerate", "tokenizers", "safetensors", "dvclive", "ruamel.yaml", "tqdm"]
for name in need:
    try:
        module = importlib.import_module(name)
        print(f"  {name} {getattr(module, '__version__', '?')}", flush=True, file=__import__("sys").stderr)
    except Exception as e:  # report every missing package at once, not the first
        print(f"  {name}: MISSING ({type(e).__name__}: {e})", file=__import__("sys").stderr)
        print(name.replace(".", "-"))
EOF
)
if [ -n "$missing" ] && ls .whl/*.whl >/dev/null 2>&1; then
  echo "installing from .whl/: $missing"
  "$PY" -m pip install -q --no-index --find-links .whl $missing || echo "pip from .whl/ failed"
fi
"$PY" -m pip install -q --no-deps --no-build-isolation -e . 2>&1 | tail -3 \
  || echo "pip install -e . failed: using PYTHONPATH instead"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
"$PY" -c 'import transformers, deepspeed, evolcoder.train.runner' \
  || { echo "MISSING: cannot import the training stack (see the list above)"; exit 2; }

echo "== training: $STEPS steps, $PRECISION, ZeRO-3, 1 GPU"
WORK=$(mktemp -d)
"$PY" - "$WORK" "$STEPS" <<'EOF'
import json, os, sys, time
from pathlib import Path

from evolcoder.config import load_section
from evolcoder.jsonl import write_jsonl
from evolcoder.train.config import ModelConfig, TrainConfig
from evolcoder.train.runner import RunPaths, run_training

work, steps = Path(sys.argv[1]), int(sys.argv[2])
rows = []
for i in range(4000):  # synthetic code instructions of varied length (no data set on this machine)
    a, b, n = i % 13 + 1, i % 7, i % 9
    body = "".join(f"    y = y * {a} + {k}  # step {k}\n" for k in range(n))
    rows.append({"id": str(i), "instruction": f"Write f{i}(x): start from x, apply {n} affine steps, add {b}.",
                 "input": "", "output": f"def f{i}(x):\n    y = x\n{body}    return y + {b}\n"})
write_jsonl(work / "train.jsonl", rows)
train = TrainConfig(precision=os.environ["PRECISION"], deepspeed_config="configs/deepspeed/zero3.json", num_processes=1,
                    global_batch_size=32, per_device_batch_size=32, max_steps=steps, save_steps=10**6,
                    warmup_steps=10, work_dir=str(work / "runs"))
started = time.perf_counter()
model = load_section("params.yaml", "model", ModelConfig)  # the default profile's tiny model
summary = run_training(model, train, RunPaths(work / "train.jsonl", work / "model", work / "curves"))
print("== result")
print(json.dumps({k: summary[k] for k in ("steps", "final_loss", "best_loss", "tokens_seen", "tokens_per_s",
                                          "padding_efficiency", "n_params", "peak_gpu_memory_mb")}, indent=1))
print(f"wall time including start-up: {time.perf_counter() - started:.0f} s")
EOF
status=$?
rm -rf "$WORK"
exit $status
