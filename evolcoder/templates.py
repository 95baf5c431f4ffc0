"""The prompt text, in one place: training and generation both format through here.

WizardCoder trained with Llama-X's Alpaca prompts and generated HumanEval with the same
no-input header. Its published 59.8 used a single blank line after the header; some of its
later scripts added a second one, which is a different prompt from the one it trained on.
"""

from __future__ import annotations

from collections.abc import Mapping
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
