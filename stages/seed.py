"""DVC stage `seed` (`python -m stages.seed`): evolcoder/seed/stage.py."""

from evolcoder.config import PARAMS_FILE
from evolcoder.seed.stage import run
from stages import run_stage


def main() -> None:
    print(run(PARAMS_FILE))


if __name__ == "__main__":
    run_stage("seed", main)
