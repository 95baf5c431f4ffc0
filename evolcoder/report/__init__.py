"""The report stage: the benchmark table, the published figures beside ours, and its charts."""
