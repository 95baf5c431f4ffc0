"""Supervised examples: the Alpaca prompt masked out of the loss, the answer + EOS learned.

Prompt and answer are tokenised apart and concatenated, so the boundary is exact and the
prompt's tokens are the ones generation will feed: both take them from
`evolcoder.templates.prompt_token_ids`, BOS included where the tokenizer adds one. The answer
is tokenised without special tokens; with a Llama tokenizer its first word therefore carries
the word-start marker `▁`, which decoding the response alone drops again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evolcoder.templates import example_texts, prompt_token_ids

IGNORE_INDEX = -100  # labels the loss skips


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]


@dataclass
class EncodeStats:
    rows: int = 0
    truncated_rows: int = 0  # longer than max_length, cut at the end
    fully_masked_rows: int = 0  # prompt alone filled max_length: no label left, dropped
    dropped_ids: list[str] = field(default_factory=list)


def encode(prompt_ids: list[int], answer_ids: list[int], eos_id: int, max_length: int) -> Example:
    """Concatenate prompt + answer + EOS, cut to `max_length`, mask the prompt's labels."""
    input_ids = (prompt_ids + answer_ids + [eos_id])[:max_length]
    n_prompt = min(len(prompt_ids), len(input_ids))
    labels = [IGNORE_INDEX] * n_prompt + input_ids[n_prompt:]
    return Example(input_ids=input_ids, labels=labels)


def encode_records(records: list[dict[str, Any]], tokenizer: Any, max_length: int) -> tuple[list[Example], EncodeStats]:
    """Tokenise training records; rows whose labels truncation would all mask are dropped and counted."""
    prompts, answers = zip(*(example_texts(r) for r in records)) if records else ((), ())
    prompt_ids = prompt_token_ids(tokenizer, prompts)
    answer_ids = tokenizer(list(answers), add_special_tokens=False)["input_ids"]
    stats = EncodeStats(rows=len(records))
    examples = []
    for record, p_ids, a_ids in zip(records, prompt_ids, answer_ids):
        example = encode(p_ids, a_ids, tokenizer.eos_token_id, max_length)
        if len(p_ids) + len(a_ids) + 1 > max_length:
            stats.truncated_rows += 1
        if all(label == IGNORE_INDEX for label in example.labels):
            stats.fully_masked_rows += 1
            stats.dropped_ids.append(str(record.get("id", "?")))
            continue
        examples.append(example)
    return examples, stats
