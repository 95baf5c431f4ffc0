"""The verified profile is the paper's run with verification switched on, and nothing else."""

from evolcoder.config import load_section, read_yaml
from evolcoder.dataset.dataset import DatasetConfig
from evolcoder.verify.config import VerifyConfig


def flat(value, prefix=""):
    if not isinstance(value, dict):
        return {prefix.rstrip("."): value}
    return {k: v for key, item in value.items() for k, v in flat(item, f"{prefix}{key}.").items()}


def test_verified_profile_differs_from_the_papers_in_the_verification_keys_only(repo_root):
    paper = repo_root / "configs/wizardcoder-15b.yaml"
    verified = repo_root / "configs/wizardcoder-15b-verified.yaml"
    a, b = flat(read_yaml(paper)), flat(read_yaml(verified))
    assert {key for key in a.keys() | b.keys() if a.get(key) != b.get(key)} == {
        "verify.mode", "dataset.require_verified", "report.profile", "report.model_label"}
    assert load_section(paper, "verify", VerifyConfig).mode == "none"
    assert load_section(verified, "verify", VerifyConfig).mode == "tests"
    assert load_section(verified, "dataset", DatasetConfig).require_verified
    assert not load_section(verified, "dataset", DatasetConfig).drop_non_python
    assert load_section(repo_root / "params.yaml", "verify", VerifyConfig).mode == "run"
