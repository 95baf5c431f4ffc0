"""Headless Chromium (Debian's `chromium` package) for tests that look at a page as a person does:
open a local page with every host unreachable, take a screenshot, and count what was drawn."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

PACKAGE = "chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND")  # offline, whatever the machine has


def chromium() -> str:
    """The browser's path, or skip the test naming the Debian package (`make test` installs it as root)."""
    path = shutil.which("chromium")
    if path is None:
        pytest.skip(f"headless browser absent: install the Debian package `{PACKAGE}` (`make test` does, as root)")
    return path


def open_page(page: Path, shot: Path, width: int = 1200, height: int = 2000) -> tuple[Image.Image, str]:
    """Open the local page `page` in a fresh profile: its screenshot (`width` x `height` pixels,
    saved to `shot`) and its DOM once loaded, scripts run, from one browser start."""
    profile = shot.parent / f"{shot.stem}-profile"
    done = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}", "--dump-dom",
                           f"--window-size={width},{height}", page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.is_file(), f"chromium failed: {done.stderr[-2000:]}"
    return Image.open(shot).convert("RGB"), done.stdout


def drawn_share(image: Image.Image) -> float:
    """The share of pixels that are not white (nor near-white)."""
    grey = image.convert("L")
    histogram = grey.histogram()
    return 1 - sum(histogram[245:]) / (grey.width * grey.height)


def coloured_pixels(image: Image.Image) -> int:
    """How many pixels are in colour, not white, grey or black: chart marks rather than text."""
    return sum(image.convert("HSV").getchannel("S").histogram()[80:])
