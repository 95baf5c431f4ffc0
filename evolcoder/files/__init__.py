"""The files passed between stages: where each stage reads and writes (`paths`), and what the
rows of those files hold (`records`). Every stage package imports these, never another stage."""
