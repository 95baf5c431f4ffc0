"""The `builtin` seed set: well-formed rows, runnable answers, no HumanEval prompt text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import evolcoder.seed
from evolcoder.jsonl import read_jsonl

SEEDS_PATH = Path(evolcoder.seed.__file__).parent / "builtin_seeds.jsonl"
KEYS = {"instruction", "input", "output", "test"}
SHARED_RUN = 10  # words in a row that an instruction may not share with a HumanEval prompt

# Runs in a child process: executes each row's output then its test in a fresh namespace,
# announcing the row first so that a hang can be pinned on it, and ends with the failures.
RUNNER = """
import json, sys, traceback
failures = []
for index, line in enumerate(open(sys.argv[1], encoding="utf-8")):
    row = json.loads(line)
    print("START", index, flush=True)
    try:
        exec(compile(row["output"] + "\\n" + row["test"], f"<seed row {index}>", "exec"),
             {"__name__": f"seed_row_{index}"})
    except BaseException:
        failures.append([index, row["instruction"], traceback.format_exc(limit=3)])
print("FAILURES", json.dumps(failures), flush=True)
"""


@pytest.fixture(scope="module")
def seeds() -> list[dict]:
    return read_jsonl(SEEDS_PATH)


def test_seed_rows_are_well_formed(seeds):
    assert 60 <= len(seeds) <= 100, f"{SEEDS_PATH} has {len(seeds)} rows; expected 60..100"
    for index, row in enumerate(seeds):
        assert set(row) == KEYS, f"row {index}: keys {sorted(row)}, expected {sorted(KEYS)}"
        assert all(isinstance(row[key], str) for key in KEYS), f"row {index}: non-string field"
        assert row["instruction"].strip() and row["output"].strip() and row["test"].strip(), (
            f"row {index} ({row['instruction'][:60]!r}) has an empty instruction, output or test"
        )
        assert "```" not in row["output"], f"row {index}: output holds a markdown fence"
    instructions = [row["instruction"] for row in seeds]
    repeated = {text for text in instructions if instructions.count(text) > 1}
    assert not repeated, f"repeated instructions: {sorted(repeated)}"


def test_some_seed_rows_carry_an_input(seeds):
    with_input = sum(1 for row in seeds if row["input"])
    assert 10 <= with_input <= len(seeds) // 2, f"{with_input} rows have an input"


def test_every_seed_answer_passes_its_test():
    run = subprocess.run(
        [sys.executable, "-c", RUNNER, str(SEEDS_PATH)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    lines = run.stdout.splitlines()
    summary = [line for line in lines if line.startswith("FAILURES ")]
    if not summary:
        started = [line for line in lines if line.startswith("START ")]
        last = started[-1].split()[1] if started else "none"
        pytest.fail(f"seed runner died (rc {run.returncode}) during row {last}:\n{run.stderr[-2000:]}")
    failures = json.loads(summary[0].removeprefix("FAILURES "))
    report = "\n".join(f"row {i} ({text[:70]!r}):\n{trace}" for i, text, trace in failures)
    assert not failures, f"{len(failures)} seed rows fail their own test:\n{report}"


def test_no_instruction_repeats_humaneval_prompt_text(seeds):
    from evolcoder.benchmarks import load_benchmark

    prompt_runs = set()
    for problem in load_benchmark("humaneval"):
        prompt_runs |= word_runs(problem.prompt, SHARED_RUN)
    for index, row in enumerate(seeds):
        shared = word_runs(row["instruction"], SHARED_RUN) & prompt_runs
        assert not shared, (
            f"row {index} ({row['instruction'][:60]!r}) shares HumanEval prompt text: "
            f"{' '.join(next(iter(shared)))!r}"
        )


def word_runs(text: str, n: int) -> set[tuple[str, ...]]:
    """Every run of `n` consecutive lowercased, whitespace-split words of `text`."""
    words = text.lower().split()
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def test_word_runs_catches_a_copied_docstring():
    prompt = "Check if in given list of numbers, are any two numbers closer to each other than"
    copied = "Write code: check if in given list of numbers, are any two numbers closer to each other."
    assert word_runs(copied, SHARED_RUN) & word_runs(prompt, SHARED_RUN)
    assert not word_runs("too short to share ten words", SHARED_RUN)
