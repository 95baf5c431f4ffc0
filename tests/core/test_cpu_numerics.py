"""The environment the CPU's portable settings are applied in: set inside, restored after."""

import os

import pytest

from evolcoder.cpu_numerics import environment


def test_environment_sets_variables_inside_and_restores_them_after(monkeypatch):
    monkeypatch.setenv("MKL_CBWR", "AUTO")
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    with pytest.raises(KeyboardInterrupt):  # restored however the block ends
        with environment({"MKL_CBWR": "COMPATIBLE", "ATEN_CPU_CAPABILITY": "default"}):
            assert (os.environ["MKL_CBWR"], os.environ["ATEN_CPU_CAPABILITY"]) == ("COMPATIBLE", "default")
            raise KeyboardInterrupt
    assert os.environ["MKL_CBWR"] == "AUTO" and "ATEN_CPU_CAPABILITY" not in os.environ
