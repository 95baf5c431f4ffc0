"""DVC stage `evolve`: Evol-Instruct rounds over the seed set (`python -m stages.evolve`)."""

from __future__ import annotations

from evolcoder.evolve.pipeline import run_evolve
from stages import PARAMS_FILE, run_stage


def main() -> None:
    print(run_evolve(PARAMS_FILE))


if __name__ == "__main__":
    run_stage("evolve", main)
