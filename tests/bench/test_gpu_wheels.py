"""bench/gpu_wheels.py: the pinned requirements the GPU check installs, which this Python lacks, and
the platform tags a wheelhouse is downloaded for."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

from bench.gpu_wheels import missing, pin, platform_tags, requirements


def test_the_requirements_are_the_projects_pins():
    reqs = requirements()
    assert "torch==2.13.0" in reqs and "deepspeed==0.19.8" in reqs and all("==" in r for r in reqs)
    assert pin("ruamel_yaml") == pin("ruamel.yaml") == next(r for r in reqs if r.startswith("ruamel.yaml=="))


def test_missing_lists_what_is_absent_or_of_another_version(tmp_path):
    pytest_version = importlib.metadata.version("pytest")
    torch_base = importlib.metadata.version("torch").split("+")[0]  # '2.13.0+cpu' satisfies torch==2.13.0, as for pip
    reqs = [f"pytest=={pytest_version}", f"torch=={torch_base}", "pytest==0.0.1", "no-such-package-here==1.0"]
    assert missing(reqs) == ["pytest==0.0.1", "no-such-package-here==1.0"]


def test_a_manylinux_target_takes_the_older_glibc_tags_too():
    tags = platform_tags("manylinux_2_28_x86_64")
    assert tags[0] == "manylinux_2_28_x86_64" and "manylinux_2_17_x86_64" in tags and "manylinux2014_x86_64" in tags
    assert "manylinux_2_29_x86_64" not in tags and "manylinux2014_aarch64" not in tags
    assert platform_tags("macosx_11_0_arm64") == ["macosx_11_0_arm64"]
