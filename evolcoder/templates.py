"""The prompt text and its tokens, in one place: training and generation both go through here.

WizardCoder trained with Llama-X's Alpaca prompts and generated HumanEval with the same
no-input header. Its published 59.8 used a single blank line after the header; some of its
later scripts added a second one, which is a different prompt from the one it trained on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

PROMPT_NO_INPUT = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:"
)
PROMPT_WITH_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:"
)
RESPONSE_MARKER = "### Response:"
CODE_TASK_PREFIX = "Create a Python script for this problem:\n"


def alpaca_prompt(instruction: str, input: str = "") -> str:
    """The Alpaca prompt for an instruction (and optional input), ending at '### Response:'."""
    if input:
        return PROMPT_WITH_INPUT.format(instruction=instruction, input=input)
    return PROMPT_NO_INPUT.format(instruction=instruction)


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
