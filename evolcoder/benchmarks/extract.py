"""Code extraction from raw model responses.

WizardCoder's post-processing (its `process_humaneval.py` / `mbpp_gen.py`): drop `\\r`; take
the text after the first "```python" up to the next fence; cut at the benchmark's markers
(`Benchmark.cut_markers`: `if __name__ == "__main__":`, `# Example usage`, and for MBPP
`# Test examples`). Those
rules decide every response that has a "```python" block, so published numbers reproduce.
Responses they leave as prose get fallbacks: another fence spelling ("```py", "```Python",
a bare "```"), a later block when only that one defines the entry point, and for unfenced
text the first run of code-looking lines. Every step is a scan or a substring search, so
the time is linear in the response length.
"""

from __future__ import annotations

import ast
import re

from evolcoder.benchmarks.registry import get

PY_FENCE = "```python"
FENCE = "```"
# "```python" not followed by more of a tag: WizardCoder's rule would leave the "3" of "```python3".
_PY_FENCE_TAG = re.compile(r"```python(?!\w)")
_FENCE_LINE = re.compile(r"^[ \t]*```[ \t]*([A-Za-z0-9_+-]*)[ \t]*$", re.MULTILINE)
_PYTHON_TAGS = {"python", "py", "python3", "py3", ""}
_CODE_START = re.compile(r"(?:def |class |async def |import |from \S+ import |@)")
_CODE_LINE = re.compile(
    r"(?:[ \t]|#|def |class |async |import |from |@|return\b|if |elif |else:|for |while |try:|"
    r"except\b|finally:|with |raise\b|assert\b|pass\b|[)\]}]|[A-Za-z_][\w.]*\(|"
    r"[A-Za-z_][\w.]*(?:\[[^\]\n]*\])?(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)*[ \t]*[-+*/%|&^]?=(?!=))"
)


def extract_code(response: str, benchmark: str = "humaneval", entry_point: str | None = None) -> str:
    """The program in a raw model response, cut at the benchmark's markers (its own test replaces
    the response's examples); '' when it holds no code at all."""
    code = program_of(response, entry_point)
    for marker in get(benchmark).cut_markers:  # MBPP's add '# Test examples'
        code = code.partition(marker)[0].strip() if marker in code else code
    return code


def program_of(response: str, entry_point: str | None = None) -> str:
    """The program in a raw model response, examples and main guard included; '' when none."""
    text = response.replace("\r", "")
    fence = _PY_FENCE_TAG.search(text)
    if not fence:
        return _fallback_code(text, entry_point)
    code = _wizardcoder_block(text[fence.start() :])
    if entry_point and not _defines(code, entry_point):
        code = _first_defining(_python_blocks(text), entry_point) or code
    return code


def _wizardcoder_block(text: str) -> str:
    """WizardCoder's rule on text that starts at a '```python': up to the next fence."""
    code = text.strip().replace(PY_FENCE, "")
    # Like WizardCoder, an unclosed block (a truncated generation) runs to the end, unstripped.
    return code[: code.index(FENCE)].strip() if FENCE in code else code


def _fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language tag, body) of each fenced block; an unclosed last fence runs to the end."""
    fences = list(_FENCE_LINE.finditer(text))
    blocks = []
    for opening, closing in zip(fences[::2], fences[1::2] + [None]):
        end = closing.start() if closing else len(text)
        blocks.append((opening.group(1).lower(), text[opening.end() : end].strip("\n")))
    return blocks


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return True


def _defines(code: str, entry_point: str) -> bool:
    return re.search(rf"^[ \t]*(?:async[ \t]+)?def[ \t]+{re.escape(entry_point)}\b", code, re.M) is not None


def _python_blocks(text: str) -> list[str]:
    return [body.strip() for tag, body in _fenced_blocks(text) if tag in _PYTHON_TAGS]


def _first_defining(blocks: list[str], entry_point: str | None) -> str | None:
    return next((b for b in blocks if entry_point and _defines(b, entry_point)), None)


def _fallback_code(text: str, entry_point: str | None) -> str:
    """Code in a response without a '```python' block: another fence, else unfenced lines."""
    blocks = _python_blocks(text)
    if blocks:
        return _first_defining(blocks, entry_point) or blocks[0]
    return _unfenced_code(text)


def _unfenced_code(text: str) -> str:
    """All of the text if it is a program, else the first run of code-looking lines that
    starts with a def, class, import or decorator."""
    if _parses(text) and any(_CODE_START.match(line) for line in text.split("\n")):
        return text.strip()
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if _CODE_START.match(line)), None)
    if start is None:
        return ""
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or _CODE_LINE.match(lines[end])):
        end += 1
    return "\n".join(lines[start:end]).strip()
