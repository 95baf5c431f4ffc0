"""DVC stage `dataset` (`python -m stages.dataset`): evolcoder/dataset/stage.py."""

from evolcoder.config import PARAMS_FILE
from evolcoder.dataset.stage import run
from stages import run_stage


def main() -> None:
    print(run(PARAMS_FILE))


if __name__ == "__main__":
    run_stage("dataset", main)
