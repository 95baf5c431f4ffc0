"""The evolve stage: Evol-Instruct rounds over the seed set, elimination, and the run's outputs."""
