"""DVC stage `evolve` (`python -m stages.evolve`): evolcoder/evolve/stage.py."""

from evolcoder.config import PARAMS_FILE
from evolcoder.evolve.stage import run
from stages import run_stage


def main() -> None:
    print(run(PARAMS_FILE))


if __name__ == "__main__":
    run_stage("evolve", main)
