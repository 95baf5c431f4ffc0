"""`evolcoder profile`: what it prints is what `dvc exp run` writes, and the committed params.yaml
is the default composition, so `dvc repro` and `dvc exp run` run the same params."""

from __future__ import annotations

import re
import sys

import pytest

from tests.support.data import REPO_ROOT
from evolcoder.cli import main
from evolcoder.profile.compose import compose
from tests.support.repo_copy import copy_repo, dvc


@pytest.fixture
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO_ROOT / "evolcoder")  # anywhere inside the repository, as DVC finds its root


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["profile", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_committed_params_yaml_is_the_default_composition():
    assert (REPO_ROOT / "params.yaml").read_text(encoding="utf-8") == compose(REPO_ROOT, [])


def test_profile_prints_its_composition_with_the_overrides_on_top(in_repo, capsys):
    code, out, _ = run(capsys, "wizardcoder-15b", "-S", "variant=lora-1gpu", "-S", "train.lr=1e-5")
    assert code == 0
    assert out == compose(REPO_ROOT, ["profile=wizardcoder-15b", "variant=lora-1gpu", "train.lr=1e-5"])
    assert "  lr: 1.0e-05\n" in out and "  profile: wizardcoder-15b+lora-1gpu\n" in out
    assert run(capsys, "default")[1] == (REPO_ROOT / "params.yaml").read_text(encoding="utf-8")


def test_list_names_every_profile_and_variant_with_one_line_each(in_repo, capsys):
    code, out, _ = run(capsys, "--list")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "profile (-S profile=NAME):" and "variant (-S variant=NAME):" in lines
    named = {line.split()[0]: line for line in lines if line.startswith("  ")}
    assert set(named) == {"default", "wizardcoder-1b", "wizardcoder-3b", "wizardcoder-15b", "wizardcoder-python-7b",
                          "wizardcoder-python-13b", "wizardcoder-python-34b", "wizardcoder-33b-v1.1",
                          "verified", "lora-1gpu"}
    assert "deepseek-ai/deepseek-coder-33b-base" in named["wizardcoder-33b-v1.1"]


@pytest.mark.parametrize("argv, message", [
    (["wizardcoder-7b"], r"unknown profile 'wizardcoder-7b' .*known:\n  default: .*\n  wizardcoder-15b: "),
    (["wizardcoder-1b", "-S", "variant=lora"], r"unknown variant 'lora' .*known:\n  lora-1gpu: .*\n  verified: "),
    (["wizardcoder-1b", "-S", "train.learning_rate=1"], r"Could not override 'train.learning_rate'.*\+train.learning_rate=1"),
    (["wizardcoder-1b", "-S", "other.yaml:x=1"], r"only params.yaml is composed .*: other.yaml"),
    (["wizardcoder-1b", "-S", "profile=wizardcoder-3b"], r"the profile is NAME \(wizardcoder-1b\); drop the -S profile="),
])
def test_what_cannot_be_composed_is_refused_with_what_is_known(in_repo, capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert re.search(message, err, re.DOTALL), err


@pytest.mark.slow
def test_dvc_exp_run_writes_what_evolcoder_profile_prints(tmp_path, monkeypatch, capsys):
    """A real `dvc exp run` (on one cheap stage, fetch@humaneval) composes params.yaml before it runs."""
    dest = copy_repo(tmp_path / "repo")
    dvc(dest, "exp", "run", "fetch@humaneval", "-S", "profile=wizardcoder-15b", "-S", "variant=lora-1gpu",
        "-S", "train.lr=1e-5", timeout=300)
    monkeypatch.chdir(dest)
    code, printed, _ = run(capsys, "wizardcoder-15b", "-S", "variant=lora-1gpu", "-S", "train.lr=1e-5")
    written = (dest / "params.yaml").read_text(encoding="utf-8")
    assert code == 0 and written == printed
    assert "  profile: wizardcoder-15b+lora-1gpu\n" in written and "  lr: 1.0e-05\n" in written


def test_composing_leaves_the_callers_import_path_as_it_was(repo_root, monkeypatch):
    """Hydra puts the plugins folder (the repository) on sys.path and then removes its first
    entry: without the restore, a caller whose path named the repository (python -m bench.x,
    PYTHONPATH) could no longer import its own modules after composing a profile."""
    monkeypatch.setattr(sys, "path", [str(repo_root), *sys.path])
    before = list(sys.path)
    compose(repo_root, ["profile=wizardcoder-15b"])
    assert sys.path == before
