"""DVC stage `verify` (`python -m stages.verify`): evolcoder/verify/stage.py."""

from evolcoder.config import PARAMS_FILE
from evolcoder.verify.stage import run
from stages import run_stage


def main() -> None:
    print(run(PARAMS_FILE))


if __name__ == "__main__":
    run_stage("verify", main)
