"""The fetch stage: inputs from outside the repository, saved as files DVC hashes."""
