"""Evol-Instruct: the evolution prompts and methods, rounds, elimination, and the dry-run teacher."""
