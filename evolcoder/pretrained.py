"""The pretrained model of the `model` params, which training starts from and whose tokenizer
the dataset stage may count lengths with: a local folder, or a hub id pinned to a commit."""

from __future__ import annotations

from pathlib import Path

from evolcoder.config import ConfigError, check


def pretrained_source(init: str | None, name_or_path: str | None, revision: str | None,
                      needed_by: str) -> tuple[str, str | None]:
    """(name_or_path, revision) to load; a ConfigError naming `needed_by` when the model is built
    from scratch, or when a hub model has no pinned revision."""
    if init != "pretrained" or not name_or_path:
        raise ConfigError(f"{needed_by}: needs model.init: pretrained with model.name_or_path (a scratch "
                          "model's tokenizer is trained on the training set itself)")
    if Path(name_or_path).exists():
        return name_or_path, None
    check(bool(revision), "model.revision",
          f"{name_or_path} is a hub model: pin it to a commit so that every run loads the same "
          f"weights (`python -c \"from huggingface_hub import model_info; print(model_info('{name_or_path}')"
          ".sha)\"`, or the model page's 'Files and versions' history)")
    return name_or_path, revision
