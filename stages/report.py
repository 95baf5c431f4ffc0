"""DVC stage `report` (`python -m stages.report`): evolcoder/report/stage.py."""

from evolcoder.config import PARAMS_FILE
from evolcoder.report.stage import run
from stages import run_stage


def main() -> None:
    print(run(PARAMS_FILE))


if __name__ == "__main__":
    run_stage("report", main)
