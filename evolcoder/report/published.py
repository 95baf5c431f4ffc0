"""WizardCoder's published table: pass@1 (%) of its seven releases and of the five reference
models it prints beside them, on HumanEval, HumanEval+, MBPP and MBPP+, with where each row
was published.

The figures are those of the table in WizardCoder's README and model cards (the same table on
each card); a column a row lacks was not published. The paper's own WizardCoder-15B figures
(20 samples at temperature 0.2) are a row of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

README = "https://github.com/nlpxucan/WizardLM/tree/main/WizardCoder"
PAPER = "https://arxiv.org/abs/2306.08568"
TABLE_CARD = "https://huggingface.co/WizardLM/WizardCoder-33B-V1.1"  # the model card the reference rows come from


@dataclass(frozen=True)
class PublishedRow:
    """One row: the model's name as the table prints it, the base model a WizardCoder release was
    fine-tuned from, its pass@1 by column (absent: not published), where it was published, and
    what a reader should know about how the figures were made."""

    name: str
    base_model: str | None
    figures: Mapping[str, float] = field(default_factory=dict)
    source: str = TABLE_CARD
    note: str = ""
    reference: bool = False  # a model WizardCoder compares with, not one of its releases


def _release(name: str, base_model: str, figures: Mapping[str, float], note: str = "greedy") -> PublishedRow:
    return PublishedRow(name, base_model, figures, f"https://huggingface.co/WizardLM/{name}", note)


def _reference(name: str, figures: Mapping[str, float], base_model: str | None = None) -> PublishedRow:
    return PublishedRow(name, base_model, figures, TABLE_CARD, "reference row of WizardCoder's table", reference=True)


ROWS: tuple[PublishedRow, ...] = (
    _release("WizardCoder-33B-V1.1", "deepseek-ai/deepseek-coder-33b-base",
             {"HumanEval": 79.9, "HumanEval+": 73.2, "MBPP": 78.9, "MBPP+": 66.9},
             "greedy, with transformers 4.36.2 and vLLM 0.2.5 (its model card); MBPP and MBPP+ on the 399-task "
             "MBPP+ (an EvalPlus pre-release); the outputs are published in WizardCoder's repository, "
             f"data/humaneval_mbpp_wizardcoder33b_v1.1_results.zip ({README})"),
    _release("WizardCoder-Python-34B-V1.0", "codellama/CodeLlama-34b-Python-hf",
             {"HumanEval": 73.2, "HumanEval+": 64.6, "MBPP": 73.2, "MBPP+": 59.9},
             "greedy; its maintainers advise transformers <= 4.32.0, users of a later one measured 55 on "
             "HumanEval (https://github.com/nlpxucan/WizardLM/issues/196)"),
    _release("WizardCoder-15B-V1.0", "bigcode/starcoder", {"HumanEval": 59.8, "HumanEval+": 52.4},
             "greedy, single-blank-line prompt; the outputs are published in WizardCoder's repository, "
             f"data/humaneval.59.8.gen.zip ({README})"),
    _release("WizardCoder-Python-13B-V1.0", "codellama/CodeLlama-13b-Python-hf", {"HumanEval": 64.0}),
    _release("WizardCoder-Python-7B-V1.0", "codellama/CodeLlama-7b-Python-hf", {"HumanEval": 55.5}),
    _release("WizardCoder-3B-V1.0", "bigcode/starcoderbase-3b", {"HumanEval": 34.8}),
    _release("WizardCoder-1B-V1.0", "bigcode/starcoderbase-1b", {"HumanEval": 23.8}),
    PublishedRow("WizardCoder-15B-V1.0 (paper, n=20, T=0.2)", "bigcode/starcoder", {"HumanEval": 57.3, "MBPP": 51.8},
                 PAPER, "the paper's Table 1: pass@1 estimated from 20 samples at temperature 0.2, top_p 0.95; "
                 "MBPP on its 500 test tasks"),
    _reference("GPT-4-Turbo (Nov 2023)", {"HumanEval": 85.4, "HumanEval+": 81.7, "MBPP": 83.0, "MBPP+": 70.7}),
    _reference("GPT-4 (May 2023)", {"HumanEval": 88.4, "HumanEval+": 76.8}),
    _reference("GPT-3.5-Turbo (Nov 2023)", {"HumanEval": 72.6, "HumanEval+": 65.9, "MBPP": 81.7, "MBPP+": 69.4}),
    _reference("Gemini Pro", {"HumanEval": 63.4, "HumanEval+": 55.5, "MBPP": 72.9, "MBPP+": 57.9}),
    _reference("DeepSeek-Coder-33B-instruct", {"HumanEval": 78.7, "HumanEval+": 72.6, "MBPP": 78.7, "MBPP+": 66.7},
               "deepseek-ai/deepseek-coder-33b-base"),
)
# The rows of the recipe the default params.yaml scales down.
DEFAULT_RECIPE_ROWS = ("WizardCoder-15B-V1.0", "WizardCoder-15B-V1.0 (paper, n=20, T=0.2)")


def row_names() -> list[str]:
    return [row.name for row in ROWS]


def published_row(name: str) -> PublishedRow:
    """The row called `name` (one of `row_names()`)."""
    return next(row for row in ROWS if row.name == name)
