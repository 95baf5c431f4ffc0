"""Row filters of the dataset stage: empty and non-code answers, and length in tokens.

Length is counted as training counts it (`evolcoder.train.tokenize`: the Alpaca prompt and
the answer tokenised apart, plus EOS), with the pretrained model's tokenizer when one is
configured and in the local cache. Otherwise (the default profile trains its tokenizer later,
on this very data set) it is estimated as one token per `CHARS_PER_TOKEN` characters.
StarCoder's tokenizer averages about 3.5 to 4 characters a token on Python and English, so 3
errs on the side of counting more tokens: it drops a row that would have fit rather than
train on a truncated answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from evolcoder.templates import example_texts

CHARS_PER_TOKEN = 3.0
# A character or a line shape that prose answers ("The output is 5.") do not have.
_CODE = re.compile(r"[{}()\[\]=;<>`]|^\s*(#|//|\$ )|^( {2,}|\t)\S", re.MULTILINE)


def is_empty(text: str) -> bool:
    return not text.strip()


def looks_like_code(text: str) -> bool:
    """True when the answer holds any code: brackets, operators, a fence, an indented line, a
    comment or a shell prompt. Deliberately lenient: only prose-only answers are non-code."""
    return _CODE.search(text) is not None


@dataclass(frozen=True)
class TokenCounter:
    """Counts a text's tokens with `count`; `name` says how (`tokenizer:<id>` or `estimate:...`)."""

    name: str
    count: Callable[[str], int]

    def example_tokens(self, record: dict) -> int:
        """The length of a training row `{instruction, input, output}` as training sees it."""
        prompt, answer = example_texts(record)
        return self.count(prompt) + self.count(answer) + 1  # + EOS


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def token_counter(name_or_path: str | None) -> tuple[TokenCounter, str | None]:
    """A counter using the tokenizer of `name_or_path` when it loads without a download, else
    the estimate; the second value says why the estimate was used (None when it was not)."""
    estimate = TokenCounter(f"estimate:{CHARS_PER_TOKEN:g} chars/token", estimate_tokens)
    if not name_or_path:
        return estimate, None
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, local_files_only=True)
    except (OSError, ValueError) as e:
        reason = f"tokenizer of {name_or_path!r} is not available locally ({type(e).__name__})"
        return estimate, reason

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return TokenCounter(f"tokenizer:{name_or_path}", count), None
