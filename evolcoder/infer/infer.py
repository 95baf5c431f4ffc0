"""Responses to a file of instructions, in the format of WizardCoder's `inference_wizardcoder.py`.

Input lines are `{"idx": ..., "Instruction": ...}`; each output line is `{"id": <idx>,
"instruction": ..., "wizardcoder": <the response after "### Response:", stripped>}`. The prompt
is the training prompt (`evolcoder.templates`), and the generation is the generate stage's
transformers backend. Each batch's lines are appended with one fsynced write, so a killed run
keeps every finished line; a rerun drops a line the kill tore and skips the ids already there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from evolcoder.errors import EvolcoderError
from evolcoder.generate.backend import Completion, Job
from evolcoder.generate.config import GenerateConfig, GenerateRuntime
from evolcoder.jsonl import AppendLog, InputError, iter_jsonl
from evolcoder.templates import alpaca_prompt

if TYPE_CHECKING:  # torch and transformers load when a model does, not for `evolcoder --help`
    from evolcoder.generate.hf_backend import TransformersBackend

INPUT_FORMAT = '{"idx": ..., "Instruction": ...}'


@dataclass(frozen=True)
class Instruction:
    """One input line: its id, its instruction text and where it was read."""

    idx: int | str
    text: str
    where: str

    @property
    def prompt(self) -> str:
        return alpaca_prompt(self.text)


@dataclass(frozen=True)
class InferSummary:
    total: int
    already_done: int
    generated: int


def read_instructions(path: str | Path) -> list[Instruction]:
    """Every instruction of an input file; a malformed line is an error naming its file and line."""
    if not Path(path).is_file():
        raise InputError(f"--input {path}: no such file (JSON Lines of {INPUT_FORMAT})")
    instructions: list[Instruction] = []
    seen: dict[int | str, str] = {}
    for lineno, row in iter_jsonl(path):
        if row is None:
            continue
        where = f"{path}:{lineno}"
        if not isinstance(row, dict) or "idx" not in row or "Instruction" not in row:
            raise InputError(f"{where}: expected {INPUT_FORMAT} (WizardCoder's inference input), got {_short(row)}")
        idx, text = row["idx"], row["Instruction"]
        if isinstance(idx, bool) or not isinstance(idx, (int, str)):
            raise InputError(f"{where}: \"idx\" must be an integer or a string, got {idx!r}")
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{where}: \"Instruction\" must be a non-empty string, got {_short(text)}")
        if idx in seen:
            raise InputError(f"{where}: idx {idx!r} is already used on {seen[idx]}; each line needs its own "
                             "idx (it names the output line, and a rerun skips the ids already written)")
        seen[idx] = where
        instructions.append(Instruction(idx, text, where))
    return instructions


def local_checkpoint(model: str, revision: str | None = None) -> str:
    """The folder of `model`: itself when it is one, else the hub model's snapshot (downloaded once
    into the Hugging Face cache, or found there when offline)."""
    if Path(model).is_dir():
        return model
    from huggingface_hub import snapshot_download

    from evolcoder.generate.hf_backend import ModelUnavailable

    try:
        return snapshot_download(model, revision=revision)
    except Exception as e:  # offline, gated, unknown or malformed ids: the hub client raises many types
        raise ModelUnavailable(
            f"--model {model}: not a folder, and the Hugging Face hub model could not be fetched "
            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}). Pass a checkpoint folder "
            "(e.g. models/checkpoint after `dvc repro train`), or on a machine that reaches the hub accept "
            f"the model's licence, run `huggingface-cli login` and `huggingface-cli download {model}`") from e


def infer(config: GenerateConfig, runtime: GenerateRuntime, instructions: list[Instruction],
          output_path: str | Path) -> InferSummary:
    """Append the response to every instruction whose id `output_path` lacks, in order, a batch at a time."""
    from evolcoder.generate.hf_backend import TransformersBackend

    with AppendLog(output_path) as out:
        done = finished_ids(out)
        todo = [i for i in instructions if i.idx not in done]
        if todo:
            backend = TransformersBackend(config, runtime)
            check_lengths(backend, todo, config.max_new_tokens)
            with tqdm(total=len(instructions), initial=len(instructions) - len(todo), desc="infer",
                      unit="instruction") as bar:
                for start in range(0, len(todo), runtime.batch_size):
                    batch = todo[start:start + runtime.batch_size]
                    completions = backend.generate([Job(str(i.idx), i.prompt) for i in batch])
                    out.append(output_row(i, samples[0]) for i, samples in zip(batch, completions))
                    bar.update(len(batch))
    return InferSummary(len(instructions), len(instructions) - len(todo), len(todo))


def output_row(instruction: Instruction, completion: Completion) -> dict:
    return {"id": instruction.idx, "instruction": instruction.text, "wizardcoder": completion.text.strip()}


def finished_ids(out: AppendLog) -> set[int | str]:
    """The ids of the output's complete lines (a line torn by a kill is dropped from the file)."""
    rows = out.recover_rows()
    for lineno, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or "id" not in row:
            raise InputError(f"{out.path}:{lineno}: not a line `evolcoder infer` writes (no \"id\"); pass "
                             "another --output, or delete this file to start over")
    return {row["id"] for row in rows}


def check_lengths(backend: TransformersBackend, instructions: list[Instruction], max_new_tokens: int) -> None:
    """Refuse, before any generation, a prompt that leaves no room for the response."""
    limit = backend.model.config.max_position_embeddings
    for instruction in instructions:
        n_tokens = len(backend.tokenizer(instruction.prompt)["input_ids"])
        if n_tokens + max_new_tokens > limit:
            raise EvolcoderError(
                f"{instruction.where}: the prompt of idx {instruction.idx!r} ({n_tokens} tokens) + --max-new-tokens "
                f"({max_new_tokens}) exceed the model's {limit} positions; lower --max-new-tokens or shorten "
                "the instruction")


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
