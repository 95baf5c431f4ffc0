"""The documentation a user reads holds together: every relative link in README.md, docs/*.md and
bench/README.md reaches a file (and its anchor a heading of that file), README.md stays short,
and nothing a user reads points at the project's test-data folder, which a clone does not have."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from tests.support.data import REPO_ROOT

README_MAX_LINES = 150
# The project's test data sits beside the repository; a user's clone has no such folder.
FORBIDDEN = ("../shared", "shared/data")

FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def doc_files() -> list[Path]:
    return [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md")), REPO_ROOT / "bench" / "README.md"]


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the lines outside fenced code blocks."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append((number, line))
    return lines


def links(text: str) -> list[tuple[int, str]]:
    """(line number, target) of each markdown link and image outside code."""
    return [(number, match.group(1)) for number, line in prose_lines(text)
            for match in LINK.finditer(INLINE_CODE.sub("", line))]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor GitHub gives the headings of a markdown file (repeats get -1, -2, ...)."""
    seen: dict[str, int] = {}
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(2))
            seen[base] = seen.get(base, -1) + 1
            seen[f"{base}-{seen[base]}" if seen[base] else base] = 0
    return set(seen)


def broken_links(path: Path) -> list[str]:
    """Each relative link of `path` whose file, or whose anchor in that file, does not exist."""
    broken = []
    for number, target in links(path.read_text(encoding="utf-8")):
        if SCHEME.match(target):
            continue  # https:, mailto: ... are not checked offline
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        where = f"{path.relative_to(REPO_ROOT)}:{number}: {target}"
        if not dest.exists():
            broken.append(f"{where}: no file {dest.relative_to(REPO_ROOT) if dest.is_relative_to(REPO_ROOT) else dest}")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{where}: {dest.name} has no heading with the anchor #{anchor}")
    return broken


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_relative_link_resolves(path):
    assert path.is_file(), f"{path.relative_to(REPO_ROOT)} is missing"
    assert not broken_links(path), "broken links:\n" + "\n".join(broken_links(path))


def test_readme_is_short():
    lines = (REPO_ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, (f"README.md has {lines} lines, more than {README_MAX_LINES}: move the detail "
                                       f"into a page of docs/ and link to it")


def user_facing_texts() -> list[tuple[str, str]]:
    """(where, text) of what a user reads: the README, docs/, bench/README.md, the report, and
    every string literal of the package (messages, help, docstrings)."""
    texts = [(str(p.relative_to(REPO_ROOT)), p.read_text(encoding="utf-8"))
             for p in [*doc_files(), REPO_ROOT / "metrics" / "report.md"] if p.is_file()]
    for source in sorted((REPO_ROOT / "evolcoder").rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                texts.append((f"{source.relative_to(REPO_ROOT)}:{node.lineno}", node.value))
    return texts


def test_nothing_a_user_reads_points_at_the_test_data_folder():
    found = [f"{where}: {word!r}" for where, text in user_facing_texts() for word in FORBIDDEN if word in text]
    assert not found, ("user-facing text names the project's test-data folder, which a clone does not have; "
                       "name the public source (a URL, a hub id, a benchmark's fetch entry) instead:\n"
                       + "\n".join(found))


def test_the_checks_catch_what_they_guard(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "REPO_ROOT", tmp_path)
    (tmp_path / "other.md").write_text("# A `code` heading: here\n## Twice\n## Twice\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#a-code-heading-here) [ok](other.md#twice-1) [web](https://example.com/x.md)\n"
        "[gone](missing.md) [bad anchor](other.md#nowhere)\n"
        "`[in code](missing.md)`\n```\n[in a fence](missing.md)\n# not a heading\n```\n[self](#not-here)\n"
    )
    assert [line.split(": ", 1)[0] for line in broken_links(page)] == ["page.md:2", "page.md:2", "page.md:8"]
