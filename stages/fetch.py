"""DVC stage `fetch@<name>` (`python -m stages.fetch <name>`): evolcoder/fetch/stage.py."""

from evolcoder.config import PARAMS_FILE
from evolcoder.fetch.stage import run
from stages import run_stage, stage_argument


def main() -> None:
    print(run(PARAMS_FILE, stage_argument("fetch", "name", "a key of the fetch params")))


if __name__ == "__main__":
    run_stage("fetch", main)
