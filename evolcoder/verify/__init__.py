"""Verified evolution: label every seed and evolved answer by whether its code runs.

`classify` (language.py) tells Python code from other languages and from prose;
`verify_answers` (verify.py) checks the Python ones in the sandbox, by `verify.mode`;
`records.py` reads the seed and the rounds and writes their labelled copies, `metrics.py`
the pass rates. This module stays empty: sandbox workers import `evolcoder.verify.asserts`,
and every import here would be copied at each fork.
"""
