"""WizardCoder's inference command on any checkpoint: instructions in, responses out (`evolcoder infer`)."""
