"""The dataset stage: the merged instruction set, filtered, deduplicated and decontaminated."""
