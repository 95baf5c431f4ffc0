"""Execution-based evaluation: code extraction, verdicts in the sandbox, pass@k (`evolcoder evaluate`)."""
