"""`evolcoder infer`: WizardCoder's inference script (`inference_wizardcoder.py`) on any checkpoint.

    evolcoder infer --model models/checkpoint --input instructions.jsonl --output responses.jsonl

Its defaults are the script's: greedy decoding, up to 2048 new tokens, the single-blank-line
Alpaca prompt (here, the exact text the pipeline trains on). Batched; rerun after a kill to go
on where it stopped.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from evolcoder.generate.config import GenerateConfig, GenerateRuntime
from evolcoder.infer.infer import INPUT_FORMAT, infer, local_checkpoint, read_instructions

MAX_NEW_TOKENS = 2048  # inference_wizardcoder.py's max_new_tokens
TOP_P = 0.9  # the script's top_p (it decodes greedily, so only --temperature > 0 uses it)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True,
                        help="a checkpoint folder (e.g. models/checkpoint) or a Hugging Face hub model id")
    parser.add_argument("--revision", help="the hub model's commit (default: its main branch)")
    parser.add_argument("--input", required=True, type=Path, help=f"JSON Lines of {INPUT_FORMAT}")
    parser.add_argument("--output", required=True, type=Path,
                        help='JSON Lines of {"id", "instruction", "wizardcoder"}; ids already in it are skipped')
    parser.add_argument("--batch-size", type=_positive, default=8, help="instructions per generate call (default: 8)")
    parser.add_argument("--max-new-tokens", type=_positive, default=MAX_NEW_TOKENS,
                        help="response length limit in tokens (default: %(default)s, WizardCoder's)")
    parser.add_argument("--temperature", type=_non_negative, default=0.0,
                        help="0 decodes greedily (default); above 0 samples, seeded per idx")
    parser.add_argument("--top-p", type=_probability, default=TOP_P,
                        help="nucleus mass when sampling (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="base of the per-idx sampling seeds (default: 0)")
    parser.add_argument("--dtype", choices=("auto", "float32", "bfloat16", "float16"), default="auto",
                        help="auto: bf16 on GPUs that have it, fp16 on older GPUs, fp32 on the CPU")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _probability(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    instructions = read_instructions(args.input)  # a bad line fails before a model loads
    config = GenerateConfig(model=local_checkpoint(args.model, args.revision), max_new_tokens=args.max_new_tokens,
                            temperature=args.temperature, top_p=args.top_p, seed=args.seed, dtype=args.dtype)
    summary = infer(config, GenerateRuntime(batch_size=args.batch_size, device=args.device), instructions, args.output)
    print(f"infer: {summary.generated} responses generated now, {summary.already_done} already in "
          f"{args.output} ({summary.total} instructions in {args.input})")
    return 0
