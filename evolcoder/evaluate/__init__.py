"""The evaluate stage: verdicts in the sandbox and pass@k (`evolcoder evaluate`)."""
