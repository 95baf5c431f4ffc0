"""Files from a URL, written atomically and checked against a sha256 when one is given."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from evolcoder.errors import EvolcoderError

CHUNK = 1 << 20


class DownloadError(EvolcoderError):
    """A URL could not be fetched, or its content is not the one pinned."""


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def download(url: str, target: str | Path, sha256: str | None = None, timeout_s: float = 60) -> Path:
    """Fetch `url` into `target` (renamed into place when complete and, with `sha256`, checked)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response, open(partial, "wb") as f:
            while chunk := response.read(CHUNK):
                f.write(chunk)
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        partial.unlink(missing_ok=True)
        raise DownloadError(f"could not download {url}: {getattr(e, 'reason', e)}. Check the network, or "
                            "download the file yourself and point the params at the local copy.") from e
    actual = file_sha256(partial)
    if sha256 and actual != sha256.lower():
        partial.unlink()
        raise DownloadError(f"{url}: sha256 is {actual}, but the params pin {sha256}; the file changed "
                            "upstream (pin a commit URL) or the pin is wrong")
    os.replace(partial, target)
    return target
