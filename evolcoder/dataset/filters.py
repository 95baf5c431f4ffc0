"""Row filters of the dataset stage: empty and non-code answers, and length in tokens.

Length is counted as training counts it (`evolcoder.train.tokenize`: the Alpaca prompt and
the answer tokenised apart, plus EOS), in the way `dataset.length_counter` names, never one
picked by what happens to be on the machine: `tokenizer` loads the pretrained model's
tokenizer (and fails, saying how to get it, when it cannot); `estimate` counts one token per
`CHARS_PER_TOKEN` characters (the default profile trains its tokenizer later, on this very data
set). StarCoder's tokenizer averages about 3.5 to 4 characters a token on Python and English,
so 3 errs on the side of counting more tokens: it drops a row that would have fit rather than
train on a truncated answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from evolcoder.errors import EvolcoderError
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


ESTIMATE = TokenCounter(f"estimate:{CHARS_PER_TOKEN:g} chars/token", estimate_tokens)


def tokenizer_counter(name_or_path: str, revision: str | None) -> TokenCounter:
    """A counter with the tokenizer of `name_or_path` at `revision`, downloaded if need be."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, revision=revision)
    except (OSError, ValueError) as e:
        raise EvolcoderError(
            f"dataset.length_counter is tokenizer, but the tokenizer of {name_or_path!r} (revision "
            f"{revision or 'main'}) cannot be loaded ({type(e).__name__}: {(str(e).splitlines() or [''])[0]}). "
            "For a hub model, accept its licence and run `huggingface-cli login` on a machine that reaches the "
            f"hub (or `huggingface-cli download {name_or_path} --include 'tokenizer*' --local-dir models/base` and set "
            "model.name_or_path: models/base); or set dataset.length_counter: estimate."
        ) from e

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return TokenCounter(f"tokenizer:{name_or_path}@{revision or 'main'}", count)
