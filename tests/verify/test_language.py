"""Python, another language, or no code: real Code Alpaca answers, and the traps between them."""

from __future__ import annotations

import json
from functools import cache

import pytest

from tests.support.data import shared_file
from evolcoder.verify.extract import answer_code, is_program, parse
from evolcoder.verify.language import classify, named_language


@cache
def _alpaca() -> list[dict]:
    return json.loads(shared_file("code_alpaca_2k.json").read_text())


def alpaca_row(prefix: str) -> dict:
    (row,) = [r for r in _alpaca() if r["instruction"].startswith(prefix)][:1]
    return row


# (the start of a real instruction of the 2k sample, the kind and language its answer gets)
REAL_ROWS = [
    ("Write a SQL query to join two tables together", "not_python", "sql"),
    ("Write a SQL query to list the first names, last names and ages", "not_python", "sql"),
    ("Create a database table in MySQL to store student data.", "not_python", "sql"),
    ("Rewrite this for loop using a while loop.", "not_python", "javascript"),  # the instruction names none
    ("Create a React component to render a table of user data.", "not_python", "javascript"),
    ("Create a JavaScript code snippet to hide an element", "not_python", "javascript"),  # valid Python syntax
    ("Generate a random integer in JavaScript.", "not_python", "javascript"),  # Math.floor(...): valid Python too
    ("Generate a HTML page of a table", "not_python", "html"),
    ("Create a Bash shell script to list the contents", "not_python", "shell"),
    ("Create a Java function to compute the sum", "not_python", "java"),
    ("Write a Java program that takes in a URL", "not_python", "java"),  # its first line parses as Python
    ("Generate a C program to find the sum", "not_python", "c"),
    ("Create a function in C++ to merge two sorted arrays", "not_python", "c++"),
    ("Correct the following PHP code", "not_python", "php"),
    ("Create a Ruby method to convert a given string to snakecase.", "not_python", "ruby"),
    ("Create an R script to calculate the variance", "not_python", "r"),  # `<-` and print(): valid Python
    ("Create a MongoDB query to sort the documents", "not_python", "mongodb"),
    ("Write a CSS selector for all <p> elements", "not_python", "css"),  # `div > p` parses as Python
    ("Design a regex expression that validates a given password", "not_python", "regex"),
    ("Write an Objective-C class that implements a queue", "not_python", "objective-c"),
    ("Convert the following Python algorithm to C++.", "not_python", "c++"),  # names Python, answers C++
    ("Edit this JSON code to add a new property.", "not_python", "json"),
    ("Find the maximum of three input numbers", "python", ""),
    ("Convert the given string to camelCase", "python", ""),
    ("Create a code to create a progress bar for a specific task.", "python", ""),
    ("Rewrite this SQL query in Python.", "python", ""),  # names SQL and Python, answers Python
    ("Create an API to delete a record in an SQL database table.", "python", ""),  # a Flask route
    ("Write a code to download the HTML of any webpage.", "python", ""),
    ("Write a regular expression to match a U.S. Social Security number.", "python", ""),  # regex = r"..."
    ("Write a Python function that takes a list of numbers and returns the l", "python", ""),  # lost indents
    ("What is a data structure commonly used to store data?", "no_code", ""),
    ("How many parameters does the 'strstr' function in C take?", "no_code", ""),  # prose about C
    ("Detect if a given tree is a binary search tree or not.", "no_code", ""),  # "true"
    ("Find the maximum and minimum temperature of a given list.", "no_code", ""),  # "Max: 20\nMin: 0"
    ("Read the given code and output the logical result.", "no_code", ""),
]


@pytest.mark.parametrize(("prefix", "kind", "language"), REAL_ROWS)
def test_real_code_alpaca_answers(prefix, kind, language):
    row = alpaca_row(prefix)
    found = classify(row["instruction"], row["output"])
    assert (found.kind, found.language) == (kind, language), found.evidence
    assert found.evidence
    assert bool(found.code) == (kind == "python")


def test_the_2k_sample_splits_into_all_three_kinds():
    kinds = [classify(r["instruction"], r["output"]).kind for r in _alpaca()]
    shares = {kind: kinds.count(kind) / len(kinds) for kind in ("python", "not_python", "no_code")}
    # about 40% Python, 45% other languages, 14% prose or values (README, "Verified evolution")
    assert 0.3 < shares["python"] < 0.5 and 0.35 < shares["not_python"] < 0.55 and 0.08 < shares["no_code"] < 0.2


@pytest.mark.parametrize(("answer", "kind", "language"), [
    ("Here it is:\n```sql\nSELECT 1;\n```", "not_python", "sql"),
    ("```js\nconsole.log(1)\n```", "not_python", "javascript"),
    ("```sql\nSELECT 1;\n```\nand in Python:\n```python\nprint(1)\n```", "python", ""),
    ("```\ndef f():\n    return 1\n```", "python", ""),  # a bare fence: read its body
    ('query = """\nSELECT name\nFROM users\n"""\nprint(query)', "python", ""),  # SQL inside a string
    ("import pymongo\ndb = pymongo.MongoClient().shop\ndb.items.find({})", "python", ""),
    ('db.items.find({"stock": 1})', "not_python", "mongodb"),
    ('console.log("hi");', "not_python", "javascript"),
    ("x <- c(1, 2)\nprint(x)", "not_python", "r"),
    ("ls -la", "not_python", "shell"),  # parses as `ls - la`, a value: read as a shell command
    ("pip install numpy", "not_python", "shell"),
    ("[1, 2, 3]", "no_code", ""),
    ("", "no_code", ""),
    ("The answer is 42.", "no_code", ""),
    ("def f(x)\n    return x", "python", ""),  # Python with a syntax error: it will fail, not be skipped
    ("print 'hello'", "python", ""),  # Python 2
])
def test_fences_strings_and_look_alikes(answer, kind, language):
    found = classify("Solve the task.", answer)
    assert (found.kind, found.language) == (kind, language), found.evidence


def test_an_instruction_naming_another_language_settles_a_bare_statement_only():
    assert classify("Write a JavaScript statement that adds two numbers.", "sum = a + b;").kind == "not_python"
    assert classify("Write a statement that adds two numbers.", "sum = a + b").kind == "python"
    assert classify("Write a JavaScript function.", "def f():\n    return 1").kind == "python"  # Python's marks win


def test_named_language():
    assert named_language("Write a SQL query to count rows.") == ("sql", "SQL")
    assert named_language("Create a new list C with elements from A and B.") is None  # C, a list's name
    assert named_language("Write a C program to print 1.") == ("c", "C program")
    assert named_language("Convert this Java code to Python.") is None  # Python named: no other-language evidence
    assert named_language("Create a function in JavaScript.") == ("javascript", "JavaScript")


def test_answer_code_keeps_the_examples_the_benchmark_rules_cut():
    answer = ("Here:\n```python\ndef add(a, b):\n    return a + b\n\n# Example usage\nassert add(1, 2) == 3\n"
              'if __name__ == "__main__":\n    print(add(2, 2))\n```')
    code = answer_code(answer)
    assert code.startswith("def add(a, b):") and "# Example usage\nassert add(1, 2) == 3" in code
    assert 'if __name__ == "__main__":' in code
    script = "arr = [1, 2, 3]\navg = sum(arr) / len(arr)\nprint(avg)"  # unfenced and no def: taken whole
    assert answer_code(script) == script


def test_values_are_not_programs():
    for value in ("true", "35", '{"name": "John"}', "Max: 20\nMin: 0", "x < -5"):
        assert not is_program(parse(value)), value
    for program in ("print(1)", "x = 1", "def f():\n    pass", "import os"):
        assert is_program(parse(program)), program
    assert parse("def (") is None
