"""DVC stage `train` (`python -m stages.train`): evolcoder/train/stage.py."""

from evolcoder.config import PARAMS_FILE
from evolcoder.train.stage import run
from stages import run_stage


def main() -> None:
    print(run(PARAMS_FILE))


if __name__ == "__main__":
    run_stage("train", main)
