"""Per-task comparison of two evaluation results: which tasks changed verdict (`evolcoder compare`)."""
