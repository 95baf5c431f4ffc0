"""DVC stage `fetch@<name>`: one input from outside the repository, saved as the file its entry
names (`python -m stages.fetch <name>`); see evolcoder/fetch/fetch.py."""

from evolcoder.config import load_section
from evolcoder.fetch.fetch import FetchEntry, fetch
from evolcoder.errors import EvolcoderError
from stages import PARAMS_FILE, run_stage, stage_argument


def main() -> None:
    name = stage_argument("fetch", "name", "a key of the fetch params")
    entries = load_section(PARAMS_FILE, "fetch", dict[str, FetchEntry])
    if name not in entries:
        raise EvolcoderError(f"fetch.{name} is not in {PARAMS_FILE} (entries: {', '.join(entries) or 'none'})")
    got = fetch(entries[name])
    print(f"fetch@{name}: {', '.join(f'{k} {v}' for k, v in got.items() if v is not None)}")


if __name__ == "__main__":
    run_stage("fetch", main)
