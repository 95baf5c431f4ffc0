"""evolcoder: a reproducible WizardCoder pipeline (Evol-Instruct, fine-tuning, evaluation)."""

__version__ = "0.1.0"
