"""Labels by mode, in the real sandbox: hostile answers end as `timeout` or `failed` with a
reason, never a hang; `tests` mode judges answers by the teacher's asserts."""

from __future__ import annotations

import re

import pytest

from evolcoder.llm.prompts import write_tests_prompt
from evolcoder.llm import ChatRequest, ChatResult, FatalError, Ledger, LLMClient, LLMConfig, LLMRuntime
from evolcoder.verify.config import VerifyConfig, VerifyRuntime
from evolcoder.verify.extract import parse
from evolcoder.verify.teacher import AssertWriter, interface_of
from evolcoder.verify.verify import Answer, compile_error, verify_answers

FAST = VerifyConfig(mode="run", timeout_s=1.0, memory_mb=512, max_output_kb=4)
TWO_WORKERS = VerifyRuntime(workers=2)


def answers(*outputs: str) -> list[Answer]:
    return [Answer(f"a{i}", 0, "seed", "Write a Python program.", "", out) for i, out in enumerate(outputs)]


def labels_of(outputs: dict[str, str], config: VerifyConfig = FAST, teacher=None) -> dict[str, tuple[str, dict]]:
    labels = verify_answers(answers(*outputs.values()), config, TWO_WORKERS, teacher)
    return {name: (label.verified, label.detail) for name, label in zip(outputs, labels)}


HOSTILE = {
    "infinite loop": "while True:\n    pass",
    "sleeps": "import time\ntime.sleep(60)",
    "fork bomb": "import os\nwhile True:\n    os.fork()",
    "input": "name = input('Your name? ')\nprint(name)",
    "tkinter": "import tkinter\nroot = tkinter.Tk()\nroot.mainloop()",
    "turtle": "import turtle\nturtle.forward(100)",
    "network": "import urllib.request\nprint(urllib.request.urlopen('http://example.com').read())",
    "socket": "import socket\nsocket.create_connection(('127.0.0.1', 80))",
    "huge print": "print('x' * 10_000_000)",
    "endless print": "while True:\n    print('spam')",
    "memory": "x = bytearray(10 ** 10)",
    "exit": "import sys\nsys.exit(3)",
}


@pytest.mark.slow
def test_hostile_answers_time_out_or_fail_with_a_reason():
    got = labels_of(HOSTILE)
    expected = {
        "infinite loop": ("timeout", "wall clock"), "sleeps": ("timeout", "wall clock"),
        "fork bomb": ("failed", "BlockingIOError"), "input": ("failed", "EOFError"),
        "tkinter": ("failed", "TclError"), "turtle": ("failed", "TclError"),
        "network": ("failed", "URLError"), "socket": ("failed", "PermissionError"),
        "huge print": ("failed", "printed more than verify.max_output_kb=4 KiB"),
        "endless print": ("timeout", "wall clock"), "memory": ("failed", "MemoryError"),
        "exit": ("failed", "SystemExit: 3"),
    }
    for name, (verified, reason) in expected.items():
        assert got[name][0] == verified and reason in got[name][1]["error"], (name, got[name])


def test_each_mode_on_the_same_answers():
    outputs = {
        "good": "def add(a, b):\n    return a + b\n\nassert add(1, 2) == 3",
        "raises": "def add(a, b):\n    return a + b\n\nassert add(1, 2) == 4, 'wrong sum'",
        "syntax": "def add(a, b)\n    return a + b",
        "sql": "SELECT name FROM users WHERE age > 30;",
        "prose": "Use the built-in sum function for this.",
    }
    skipped = labels_of(outputs, VerifyConfig(mode="none"))
    assert {n: v for n, (v, _) in skipped.items()} == dict.fromkeys(outputs, "skipped")
    compiled = labels_of(outputs, VerifyConfig(mode="compile"))
    assert {n: v for n, (v, _) in compiled.items()} == {
        "good": "passed", "raises": "passed", "syntax": "failed", "sql": "not_python", "prose": "no_code"}
    assert compiled["syntax"][1] == {"mode": "compile", "compiles": False, "error": "SyntaxError: expected ':' (line 1)"}
    assert compiled["sql"][1] == {"evidence": "line 1 reads as sql: SELECT name FROM users WHERE age > 30;",
                                  "language": "sql"}
    ran = labels_of(outputs)
    assert {n: v for n, (v, _) in ran.items()} == {
        "good": "passed", "raises": "failed", "syntax": "failed", "sql": "not_python", "prose": "no_code"}
    assert ran["raises"][1] == {"mode": "run", "error": "AssertionError: wrong sum (sample line 4)"}


def test_a_main_block_does_not_run_and_examples_do():
    got = labels_of({
        "main reads input": 'def f():\n    return 1\n\nif __name__ == "__main__":\n    print(input())',
        "example raises": "```python\ndef f():\n    return 1\n\n# Example usage\nprint(f() + 'a')\n```",
    })
    assert got["main reads input"][0] == "passed"
    assert got["example raises"][0] == "failed" and "TypeError" in got["example raises"][1]["error"]


def test_compile_error_names_the_line():
    assert compile_error("x = 1\ny = (\n") == "SyntaxError: '(' was never closed (line 2)"
    assert compile_error("return 1") == "SyntaxError: 'return' outside function (line 1)"
    assert compile_error("x = '\\d'") is None  # a warning, not an error


def test_config_checks_and_limits():
    limits = FAST.limits()
    assert (limits.wall_s, limits.memory_mb, limits.output_bytes) == (1.0, 512, 4 * 1024 + 1)
    with pytest.raises(ValueError, match="verify.timeout_s: must be > 0"):
        VerifyConfig(timeout_s=0)
    with pytest.raises(ValueError, match="verify.mode"):
        from evolcoder.config import from_dict
        from_dict(VerifyConfig, {"mode": "exec"}, "verify")


class ScriptedTeacher:
    """A stand-in model for `tests` mode: the reply to each task comes from `replies`, keyed by
    the first word of the task; a task starting with "Crash" fails the call."""

    name = "scripted"

    def __init__(self, replies: dict[str, str]) -> None:
        self.replies = replies
        self.prompts: list[str] = []

    async def complete(self, request: ChatRequest) -> ChatResult:
        prompt = request.messages[-1][1]
        self.prompts.append(prompt)
        word = re.search(r"### Task\n(\w+)", prompt).group(1)
        if word == "Crash":
            raise FatalError("HTTP 400: scripted failure", kind="http_400")
        return ChatResult(key=request.key(), text=self.replies[word], finish_reason="stop", provider=self.name)


def run_tests_mode(tmp_path, rows: dict[str, tuple[str, str]], replies: dict[str, str]):
    teacher = ScriptedTeacher(replies)
    llm = LLMConfig(provider="openai", api_key_env=None)
    with Ledger(tmp_path / "ledger") as ledger:
        writer = AssertWriter(LLMClient(llm, LLMRuntime(max_retries=0), ledger, provider=teacher), llm)
        items = [Answer(name, 1, "constraints", task, "", out) for name, (task, out) in rows.items()]
        labels = verify_answers(items, VerifyConfig(mode="tests", timeout_s=2.0), VerifyRuntime(workers=1), writer)
    return teacher, {name: (label.verified, label.detail) for name, label in zip(rows, labels)}


ADD = "def add(a, b):\n    return a + b"


def test_tests_mode_labels_by_the_teacher_asserts(tmp_path):
    rows = {
        "right": ("Right: add two numbers.", ADD),
        "wrong": ("Wrong: add two numbers.", ADD.replace("+", "-")),
        "misnamed": ("Misnamed: add two numbers.", ADD),
        "unparsable": ("Unparsable: add two numbers.", ADD),
        "no assert": ("Noassert: add two numbers.", ADD),
        "crash": ("Crash: add two numbers.", ADD),
        "script": ("Script: print hello.", "print('hello')"),
        "raises": ("Raises: add.", ADD + "\nadd(1)"),
        "loops": ("Loops: add.", ADD),
    }
    replies = {
        "Right": "Sure.\n```python\nassert add(1, 2) == 3\nassert add(-1, 1) == 0\n```",
        "Wrong": "```python\nassert add(1, 2) == 3\nassert add(2, 2) == 4\nassert add(0, 0) == 0\n```",
        "Misnamed": "```python\nassert plus(1, 2) == 3\nassert plus(0, 0) == 0\n```",
        "Unparsable": "```python\nassert add(1, 2 == 3\n```",
        "Noassert": "```python\ndef test_add():\n    assert add(1, 2) == 3\n```",
        "Raises": "```python\nassert add(1, 2) == 3\n```",
        "Loops": "```python\nassert add(1, 1) == 2\nwhile True:\n    pass\n```\n",
    }
    teacher, got = run_tests_mode(tmp_path, rows, replies)
    verdicts = {name: verified for name, (verified, _) in got.items()}
    assert verdicts == {"right": "passed", "wrong": "failed", "misnamed": "failed", "unparsable": "skipped",
                        "no assert": "skipped", "crash": "skipped", "script": "skipped", "raises": "failed",
                        "loops": "timeout"}
    assert got["right"][1]["statements"] == 2 and got["right"][1]["tests"].startswith("assert add(1, 2)")
    wrong = got["wrong"][1]
    assert (wrong["failed"], wrong["statements"], wrong["every_statement_failed"]) == (2, 3, False)
    assert wrong["failures"][0] == {"line": 1, "source": "assert add(1, 2) == 3", "error": "AssertionError"}
    misnamed = got["misnamed"][1]  # every statement failed: evidence against the test as much as the answer
    assert misnamed["every_statement_failed"]
    assert misnamed["failures"][0]["error"] == "NameError: name 'plus' is not defined"
    assert got["unparsable"][1]["tests_error"].startswith("the test block does not parse: SyntaxError")
    assert got["no assert"][1]["tests_error"] == "the test block holds no top-level assert"
    assert got["crash"][1]["reason"] == "the tests call failed" and "scripted failure" in got["crash"][1]["error"]
    assert got["script"][1]["reason"].startswith("nothing to test")
    assert "TypeError" in got["raises"][1]["error"]  # the answer raised before any test ran
    assert all(len(detail["tests_call"]) == 64 for name, (_, detail) in got.items() if name != "script")
    assert len(teacher.prompts) == 8  # one call per answer with something to test
    assert teacher.prompts[0] == write_tests_prompt("Right: add two numbers.", "def add(a, b):\n    ...")


def test_interface_shows_signatures_not_bodies():
    tree = parse("import os\n\ndef f(a, b=2) -> int:\n    return a * b\n\nclass Stack:\n    size = 0\n"
                 "    def push(self, x):\n        self.items.append(x)\n")
    assert interface_of(tree) == "def f(a, b=2) -> int:\n    ...\n\nclass Stack:\n\n    def push(self, x):\n        ..."
    assert interface_of(parse("total = sum([1, 2])\nprint(total)")) == "total = ..."
    assert interface_of(parse("print('hello')")) == ""
