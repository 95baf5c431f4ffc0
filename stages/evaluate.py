"""DVC stage `evaluate@<bench>` (`python -m stages.evaluate <bench>`): evolcoder/evaluate/stage.py."""

from evolcoder.config import PARAMS_FILE
from evolcoder.evaluate.stage import run
from stages import run_stage, stage_argument


def main() -> None:
    print(run(PARAMS_FILE, stage_argument("evaluate")))


if __name__ == "__main__":
    run_stage("evaluate", main)
