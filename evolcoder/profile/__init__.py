"""Profiles: overlays of the default params, one per row of WizardCoder's table, and variants."""
