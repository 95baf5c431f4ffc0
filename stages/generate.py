"""DVC stage `generate@<bench>` (`python -m stages.generate <bench>`): evolcoder/generate/stage.py."""

from evolcoder.config import PARAMS_FILE
from evolcoder.generate.stage import run
from stages import run_stage, stage_argument


def main() -> None:
    print(run(PARAMS_FILE, stage_argument("generate")))


if __name__ == "__main__":
    run_stage("generate", main)
