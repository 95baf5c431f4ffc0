"""The prompt text and its tokens, in one place: training and generation both go through here.

WizardCoder trained with Llama-X's Alpaca prompts and generated HumanEval with the same
no-input header. Its published 59.8 used a single blank line after the header; its later
scripts added a second one, which is a different prompt from the one it trained on.
`generate.prompt` picks which of the two a benchmark task is asked in (`PROMPT_STYLES`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

PROMPT_NO_INPUT = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request.\n{blank_lines}"
    "### Instruction:\n{instruction}\n\n### Response:"
)
PROMPT_WITH_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:"
)
RESPONSE_MARKER = "### Response:"
CODE_TASK_PREFIX = "Create a Python script for this problem:\n"
# generate.prompt -> blank lines between the header and "### Instruction:". alpaca: the training
# prompt, which the 15B's 59.8 run also generated with (its released outputs show one blank
# line). eval-scripts: WizardCoder's later evaluation scripts (nlpxucan/WizardLM,
# WizardCoder/src/humaneval_gen.py at 080166c, humaneval_gen_vllm.py at 2f3ccc7,
# mbppplus_gen.py and mbppplus_gen_vllm.py), which the Python series and 33B-V1.1 ran.
PROMPT_STYLES = {"alpaca": 1, "eval-scripts": 2}
ASSERTION_QUESTION = "{text} Your code should satisfy the following assertion:\n```python\n{assertion}\n```"


def alpaca_prompt(instruction: str, input: str = "") -> str:
    """The Alpaca prompt for an instruction (and optional input), ending at '### Response:'."""
    if input:
        return PROMPT_WITH_INPUT.format(instruction=instruction, input=input)
    return task_prompt(instruction)


def task_prompt(task: str, style: str = "alpaca", tabs: bool = False) -> str:
    """A benchmark task's generation prompt in `style` (a key of PROMPT_STYLES). `tabs` is the
    release scripts' `prompt.replace('    ', '\\t')`, applied to the task before the header."""
    if tabs:
        task = task.replace("    ", "\t")
    return PROMPT_NO_INPUT.format(instruction=task, blank_lines="\n" * PROMPT_STYLES[style])


def assertion_question(text: str, assertion: str) -> str:
    """An MBPP+ task as WizardCoder-33B-V1.1's data/mbppplus.json words it (read by mbppplus_gen.py):
    the task, then the example assertion in a python code block."""
    return ASSERTION_QUESTION.format(text=text, assertion=assertion)


def example_texts(record: Mapping[str, Any]) -> tuple[str, str]:
    """(prompt, answer) of a training record `{instruction, input, output, ...}`."""
    return alpaca_prompt(record["instruction"], record.get("input") or ""), record["output"]


def response_of(text: str) -> str:
    """The part of a full prompt+response text after '### Response:' (all of it if absent)."""
    _, marker, after = text.partition(RESPONSE_MARKER)
    return after if marker else text


def prompt_token_ids(tokenizer: Any, prompts: Sequence[str]) -> list[list[int]]:
    """The ids the model is fed for each prompt, in training and in generation alike: the BOS
    where the tokenizer adds one (Llama's `<s>`, as Llama-X trained; StarCoder's adds none),
    then the prompt's tokens. An EOS a tokenizer would append is left out: a prompt is not the
    end of the text."""
    ids = tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
    bos = [tokenizer.bos_token_id] if adds_bos(tokenizer) else []
    return [bos + row for row in ids]


def adds_bos(tokenizer: Any) -> bool:
    """Whether `tokenizer` starts a text with its BOS token."""
    return tokenizer.bos_token_id is not None and tokenizer("a")["input_ids"][:1] == [tokenizer.bos_token_id]
