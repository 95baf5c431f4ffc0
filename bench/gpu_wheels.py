"""The GPU check's Python packages on a machine without network: the wheelhouse `.whl/`.

On a connected machine, from the repository root, one command builds it:

    python bench/gpu_wheels.py build --python-version 3.12 --platform manylinux_2_28_x86_64

(the GPU machine's Python and platform: `python3 -c "import sys, sysconfig; print(sys.version_info[:2],
sysconfig.get_platform())"` there). It holds the project's pinned dependencies (pyproject.toml) and
all of theirs, as wheels for that machine: torch's CUDA build with NVIDIA's libraries (about 4 GB
in all), DeepSpeed and its hjson, py-cpuinfo, msgpack, ninja, einops, nvidia-ml-py, dvclive's
own... A package published only as a source archive (DeepSpeed) is built into a wheel here;
that works for pure-Python ones, and the command stops naming any other. Carry `.whl/` along
with the repository: `bash bench/gpu_check.sh` installs what the GPU machine's Python lacks
from it, dependencies resolved from `.whl/` alone (`python bench/gpu_wheels.py missing` lists
what it lacks).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NO_WHEEL = re.compile(r"No matching distribution found for (\S+)")
ATTEMPTS = 20  # source-only packages built per run, at most


def requirements(pyproject: Path = REPO / "pyproject.toml") -> list[str]:
    """The project's pinned dependencies, as pyproject.toml lists them ('torch==2.13.0', ...)."""
    with open(pyproject, "rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


def pin(name: str, pyproject: Path = REPO / "pyproject.toml") -> str:
    """The requirement of one dependency, e.g. pin('torch') -> 'torch==2.13.0'."""
    return next(r for r in requirements(pyproject) if split(r)[0] == normalized(name))


def split(requirement: str) -> tuple[str, str]:
    name, version = requirement.split("==")
    return normalized(name), version.strip()


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def missing(reqs: list[str]) -> list[str]:
    """The requirements this Python does not satisfy (a local build label such as '+cpu' satisfies
    its version, as pip counts it; whether that torch can use CUDA is the GPU check's question)."""
    absent = []
    for requirement in reqs:
        name, version = split(requirement)
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed is None or installed.split("+")[0] != version:
            absent.append(requirement)
    return absent


def build(dest: Path, python_version: str, platform: str) -> int:
    """Download every wheel of the closure for the target into `dest`, building source-only ones."""
    dest.mkdir(parents=True, exist_ok=True)
    download = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--platform", platform,
                "--python-version", python_version, "--implementation", "cp", "--find-links", str(dest),
                "--dest", str(dest), *requirements()]
    built: set[str] = set()
    for _ in range(ATTEMPTS):
        result = subprocess.run(download, capture_output=True, text=True)
        if result.returncode == 0:
            print(f"gpu_wheels: {len(list(dest.glob('*.whl')))} wheels in {dest} for Python {python_version}, "
                  f"{platform}")
            return 0
        source_only = NO_WHEEL.search(result.stderr)
        name = source_only.group(1) if source_only else None
        if name is None or name in built:
            print(result.stdout[-2000:] + result.stderr[-3000:], file=sys.stderr)
            why = (f"the wheel built here for {name} does not suit {platform}: build the wheelhouse on a machine "
                   "like the GPU one" if name else "see pip's error above")
            print(f"gpu_wheels: pip download failed: {why}", file=sys.stderr)
            return 1
        print(f"gpu_wheels: {name} has no wheel for {platform}: building one from its source archive", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(dest), name], check=True)
        built.add(name)
    print(f"gpu_wheels: gave up after building {ATTEMPTS} source-only packages", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("build", help="download the wheelhouse (on a connected machine)")
    make.add_argument("--python-version", default=f"{sys.version_info.major}.{sys.version_info.minor}")
    make.add_argument("--platform", default="manylinux_2_28_x86_64")
    make.add_argument("--dest", type=Path, default=REPO / ".whl")
    sub.add_parser("missing", help="print the pinned requirements this Python lacks, one a line")
    sub.add_parser("pin", help="print one dependency's pinned requirement").add_argument("name")
    args = parser.parse_args(argv)
    if args.command == "build":
        return build(args.dest, args.python_version, args.platform)
    if args.command == "pin":
        print(pin(args.name))
        return 0
    print("\n".join(missing(requirements())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
