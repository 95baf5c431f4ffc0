"""`llm.provider: dry-run`: deterministic, offline answers for wiring checks and tests.

It reads the request as the evolve stage writes it: an evolution prompt is answered by the
rule-based rewrite of its method (`evolcoder.llm.rewrite`), an equality prompt by comparing
the two instructions, and anything else as a question, with the code of the lineage's seed
answer (`meta["reference_answer"]`). Nothing here is a model's output: every result says
`provider: dry-run`, and costs nothing.
"""

from __future__ import annotations

import math
import re

from evolcoder.llm.prompts import parse_equality_prompt, parse_evolution_prompt
from evolcoder.llm.rewrite import rewrite
from evolcoder.llm import ChatProvider, ChatRequest, ChatResult, Ledger, LLMConfig, LLMRuntime, make_provider
from evolcoder.llm.types import BatchProvider

CHARS_PER_TOKEN = 4
ANSWER_PROSE = "Here is a Python solution that meets the requirements."
NO_REFERENCE = "The dry-run provider has no reference answer for this question."
_FENCE = re.compile(r"```[\w+-]*\n(.*?)```", re.DOTALL)


class DryRunProvider:
    """A rule-based stand-in for a chat model; see the module docstring."""

    name = "dry-run"  # no llm setting changes a dry-run answer, so it takes no config

    async def complete(self, request: ChatRequest) -> ChatResult:
        prompt = request.messages[-1][1]
        text = self.answer(prompt, request.meta.get("reference_answer"), _salt(request))
        return ChatResult(
            key=request.key(),
            text=text,
            finish_reason="stop",
            prompt_tokens=math.ceil(request.prompt_chars() / CHARS_PER_TOKEN),
            completion_tokens=math.ceil(len(text) / CHARS_PER_TOKEN),
            cost_usd=0.0,
            provider=self.name,
        )

    @staticmethod
    def answer(prompt: str, reference_answer: str | None, salt: int) -> str:
        """The dry-run reply to `prompt`."""
        evolution = parse_evolution_prompt(prompt)
        if evolution is not None:
            return rewrite(evolution.method, evolution.question, salt)
        pair = parse_equality_prompt(prompt)
        if pair is not None:
            first, second = (" ".join(s.split()) for s in pair)
            return "Equal" if first == second else "Not Equal"
        if not reference_answer:
            return NO_REFERENCE
        return f"{ANSWER_PROSE}\n\n```python\n{code_of(reference_answer)}\n```"


def teacher_provider(config: LLMConfig, runtime: LLMRuntime, ledger: Ledger) -> ChatProvider | BatchProvider:
    """The provider `llm.provider` names, dry-run included, for the evolve stage's client."""
    return DryRunProvider() if config.provider == "dry-run" else make_provider(config, runtime, ledger)


def code_of(answer: str) -> str:
    """The code of an answer: its first fenced block, else the whole answer."""
    match = _FENCE.search(answer)
    return (match.group(1) if match else answer).strip()


def _salt(request: ChatRequest) -> int:
    # The key covers the prompt and the sample index: items, and retries of an item, differ.
    return int(request.key()[:8], 16)
