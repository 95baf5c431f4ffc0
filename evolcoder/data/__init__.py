"""Data: fetching inputs, the seed set, the merged instruction data set, dedupe and decontamination."""
