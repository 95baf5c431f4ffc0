"""Every Evol-Instruct prompt, in one place; the text is part of each call's ledger key.

Two families (`evolve.methods`):
- `wizardcoder`: WizardCoder's single template (arXiv 2306.08568, section 3.1) with its five
  code-specific methods.
- `wizardlm`: WizardLM's released prompts (github.com/nlpxucan/WizardLM, Evol_Instruct/depth.py
  and breadth.py): four in-depth methods and in-breadth evolution. WizardLM's fifth in-depth
  operation, "complicate input", has no released prompt and is not offered.

`TESTS_TEMPLATE` is not an evolution prompt: the verify stage's `tests` mode asks the teacher
with it for assert-based tests of an item's instruction (`write_tests_prompt`, `parse_tests_reply`).

The WizardLM strings are reproduced as the released Python literals evaluate, including the
`\\r\\n` line ends and the five tabs that depth.py's backslash line continuations leave inside
the string: that is the text WizardLM actually sent to the API.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

WIZARDCODER_TEMPLATE = (
    "Please increase the difficulty of the given programming test question a bit.\n\n"
    "You can increase the difficulty using, but not limited to, the following methods:\n"
    "{method}\n\n{question}"
)
WIZARDCODER_METHODS = {
    "constraints": "Add new constraints and requirements to the original problem, "
    "adding approximately 10 additional words.",
    "specific_requirement": "Replace a commonly used requirement in the programming task "
    "with a less common and more specific one.",
    "reasoning_steps": "If the original problem can be solved with only a few logical steps, "
    "please add more reasoning steps.",
    "erroneous_code": "Provide a piece of erroneous code as a reference to increase misdirection.",
    "complexity": "Propose higher time or space complexity requirements, "
    "but please refrain from doing so frequently.",
}

_TABS = "\t\t\t\t\t"
WIZARDLM_DEPTH_BASE = (
    "I want you act as a Prompt Rewriter.\r\n "
    f"{_TABS}Your objective is to rewrite a given prompt into a more complex version to make "
    "those famous AI systems (e.g., chatgpt and GPT4) a bit harder to handle.\r\n "
    f"{_TABS}But the rewritten prompt must be reasonable and must be understood and responded "
    "by humans.\r\n "
    f"{_TABS}Your rewriting cannot omit the non-text parts such as the table and code in "
    "#The Given Prompt#:. Also, please do not omit the input in #The Given Prompt#. \r\n "
    f"{_TABS}You SHOULD complicate the given prompt using the following method: \r\n"
    f"{_TABS}{{method}} \r\n"
    f"{_TABS}You should try your best not to make the #Rewritten Prompt# become verbose, "
    "#Rewritten Prompt# can only add 10 to 20 words into #The Given Prompt#. \r\n"
    f"{_TABS}'#The Given Prompt#', '#Rewritten Prompt#', 'given prompt' and 'rewritten prompt' "
    "are not allowed to appear in #Rewritten Prompt#\r\n"
    "#The Given Prompt#: \r\n {question} \r\n#Rewritten Prompt#:\r\n"
)
WIZARDLM_DEPTH_METHODS = {
    "constraints": "Please add one more constraints/requirements into #The Given Prompt#'",
    "deepening": "If #The Given Prompt# contains inquiries about certain issues, "
    "the depth and breadth of the inquiry can be increased.",
    "concretizing": "Please replace general concepts with more specific concepts.",
    "reasoning_steps": "If #The Given Prompt# can be solved with just a few simple thinking "
    "processes, you can rewrite it to explicitly request multiple-step reasoning.",
}
WIZARDLM_BREADTH = (
    "I want you act as a Prompt Creator.\r\n"
    "Your goal is to draw inspiration from the #Given Prompt# to create a brand new prompt.\r\n"
    "This new prompt should belong to the same domain as the #Given Prompt# but be even more "
    "rare.\r\n"
    "The LENGTH and complexity of the #Created Prompt# should be similar to that of the "
    "#Given Prompt#.\r\n"
    "The #Created Prompt# must be reasonable and must be understood and responded by humans.\r\n"
    "'#Given Prompt#', '#Created Prompt#', 'given prompt' and 'created prompt' are not allowed "
    "to appear in #Created Prompt#\r\n"
    "#Given Prompt#: \r\n {question} \r\n#Created Prompt#:\r\n"
)

# WizardLM's elimination step 1 (paper, appendix): its code release has no equality check.
EQUALITY_TEMPLATE = (
    "Here are two Instructions to ChatGPT AI, do you think they are equal to each other, "
    "which meet the following requirements:\n"
    "1. They have same constraints and requirements.\n"
    "2. They have same depth and breadth of the inquiry.\n"
    "The First Prompt: {first}\n"
    "The Second Prompt: {second}\n"
    "Your Judgement (Just answer: Equal or Not Equal. No need to explain the reason.):"
)

FAMILIES = ("wizardcoder", "wizardlm")
METHODS: dict[str, tuple[str, ...]] = {
    "wizardcoder": tuple(WIZARDCODER_METHODS),
    "wizardlm": (*WIZARDLM_DEPTH_METHODS, "breadth"),
}
# Words of the evolving prompts that must not leak into an evolved instruction.
PROMPT_PHRASES = (
    "given prompt",
    "rewritten prompt",
    "created prompt",
    "programming test question",
    "#given test#",
    "#rewritten test#",
)


@dataclass(frozen=True)
class EvolutionPrompt:
    """An evolution prompt taken apart: which family and method, and the question it evolves."""

    family: str
    method: str
    question: str


def question_text(family: str, instruction: str, input: str) -> str:
    """The question an instruction (and its input) is evolved as.

    WizardLM's main.py joins instruction and input with '\\r\\n' even when the input is empty;
    WizardCoder's join is unpublished, so it appends a non-empty input on a new line.
    """
    if family == "wizardlm":
        return instruction.strip() + "\r\n" + input.strip()
    return instruction if not input else f"{instruction}\n{input}"


def evolution_prompt(family: str, method: str, question: str) -> str:
    """The full prompt asking the LLM to evolve `question` with `method` of `family`."""
    if family == "wizardcoder":
        return WIZARDCODER_TEMPLATE.format(method=WIZARDCODER_METHODS[method], question=question)
    if family == "wizardlm":
        if method == "breadth":
            return WIZARDLM_BREADTH.format(question=question)
        return WIZARDLM_DEPTH_BASE.format(method=WIZARDLM_DEPTH_METHODS[method], question=question)
    raise ValueError(f"unknown evolution family {family!r} (known: {', '.join(FAMILIES)})")


def parse_evolution_prompt(text: str) -> EvolutionPrompt | None:
    """Recover family, method and question from a prompt built by `evolution_prompt`."""
    for family, methods in METHODS.items():
        for method in methods:
            question = _fill_of(evolution_prompt(family, method, _SLOT), text)
            if question is not None:
                return EvolutionPrompt(family, method, question)
    return None


def equality_prompt(first: str, second: str) -> str:
    """WizardLM's prompt asking whether two instructions are equal."""
    return EQUALITY_TEMPLATE.format(first=first, second=second)


def parse_equality_prompt(text: str) -> tuple[str, str] | None:
    """The two instructions of an equality prompt, or None if `text` is not one."""
    head, _, tail = EQUALITY_TEMPLATE.partition("{first}")
    middle, _, end = tail.partition("{second}")
    if not (text.startswith(head) and text.endswith(end)):
        return None
    first, sep, second = text[len(head) : len(text) - len(end)].partition(middle)
    return (first, second) if sep else None


def is_equal_verdict(text: str) -> bool:
    """Whether an equality answer says 'Equal' ('Not Equal' or anything else is not)."""
    return text.strip().strip("*#.:\"' ").lower().startswith("equal")


_SLOT = "\x00QUESTION\x00"


def _fill_of(rendered: str, text: str) -> str | None:
    prefix, _, suffix = rendered.partition(_SLOT)
    if len(text) >= len(prefix) + len(suffix) and text.startswith(prefix) and text.endswith(suffix):
        return text[len(prefix) : len(text) - len(suffix)]
    return None


# Verified evolution (`verify.mode: tests`): one more call per item asks for tests of its
# instruction. The teacher sees the task and the names the answer defines (so the tests call
# what exists), never the answer's body (so they test the task, not the answer).
TESTS_TEMPLATE = (
    "Write tests for a solution of the programming task below.\n\n"
    "### Task\n{task}\n\n"
    "### What the solution defines\n```python\n{interface}\n```\n\n"
    "Reply with one ```python block of plain top-level `assert` statements that check what the "
    "task asks for, using only the names above. The block runs after the solution, in the same "
    "namespace: do not define or import the solution again, and do not use a test framework, "
    "input(), files, the network or print. Assert only results you are sure of."
)
_TESTS_BLOCK = re.compile(r"^[ \t]*```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)^[ \t]*```", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class TestsReply:
    """The teacher's test block: its `code`, how many `asserts` run at its top level (not in a
    function), and `error`, why it cannot be used (no block, a syntax error, no assert)."""

    code: str
    asserts: int
    error: str | None


def write_tests_prompt(task: str, interface: str) -> str:
    """The prompt asking for assert-based tests of `task`, a solution of which defines `interface`."""
    return TESTS_TEMPLATE.format(task=task.strip(), interface=interface.strip())


def parse_tests_reply(text: str) -> TestsReply:
    """The test block of a reply to `write_tests_prompt`: its first ```python (or bare) block, else
    the whole reply if it is Python; unusable (`error` set) when it does not parse or holds no
    top-level assert."""
    match = _TESTS_BLOCK.search(text.replace("\r", ""))
    code = (match.group(1) if match else text).strip()
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        where = f" (line {e.lineno})" if isinstance(e, SyntaxError) and e.lineno else ""
        found = "the test block" if match else "the reply holds no ```python block, and as a whole it"
        return TestsReply(code, 0, f"{found} does not parse: {type(e).__name__}: {e.args[0] if e.args else e}{where}")
    asserts = _top_level_asserts(tree)
    return TestsReply(code, asserts, None if asserts else "the test block holds no top-level assert")


def _top_level_asserts(tree: ast.AST) -> int:
    """Assert statements that run when the block runs: not inside a function or class body."""
    if isinstance(tree, ast.Assert):
        return 1
    if isinstance(tree, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
        return 0
    return sum(_top_level_asserts(child) for child in ast.iter_child_nodes(tree))
