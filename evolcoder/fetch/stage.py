"""The fetch stage: one input from outside the repository, saved as the file its entry of the
`fetch` params names (`python -m stages.fetch <name>`, `evolcoder fetch <name>`)."""

from __future__ import annotations

from pathlib import Path

from evolcoder.config import load_section
from evolcoder.errors import EvolcoderError
from evolcoder.fetch.fetch import FetchEntry, fetch


def run(params: str | Path, name: str) -> str:
    """Fetch entry `name` of the params file; return what to print."""
    entries = load_section(params, "fetch", dict[str, FetchEntry])
    if name not in entries:
        raise EvolcoderError(f"fetch.{name} is not in {params} (entries: {', '.join(entries) or 'none'})")
    got = fetch(entries[name])
    return f"fetch@{name}: {', '.join(f'{k} {v}' for k, v in got.items() if v is not None)}"
