"""The GPU check's Python packages on a machine without network: the wheelhouse `.whl/`.

On a connected machine, from the repository root, one command builds it:

    python -m bench.gpu_wheels build --python-version 3.12 --platform manylinux_2_28_x86_64

(the GPU machine's Python and platform: `python3 -c "import sys, sysconfig; print(sys.version_info[:2],
sysconfig.get_platform())"` there). It holds the project's pinned dependencies (pyproject.toml) and
all of theirs, as wheels for that machine: torch's CUDA build with NVIDIA's libraries (about 4 GB
in all), DeepSpeed and its hjson, py-cpuinfo, msgpack, ninja, einops, nvidia-ml-py, dvclive's
own... It resolves the closure for this machine first: a package published only as a source
archive (DeepSpeed, antlr4-python3-runtime) is built into a wheel here, which suits any machine
for a pure-Python one; a wheel this machine's platform needs and the GPU machine's does not
stays in `.whl/` unused. Carry `.whl/` along
with the repository: `bash bench/gpu_check.sh` installs what the GPU machine's Python lacks
from it, dependencies resolved from `.whl/` alone (`python -m bench.gpu_wheels missing` lists
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


def platform_tags(platform: str) -> list[str]:
    """`platform` and the older tags a machine of it also runs: pip takes only the tags it is given
    (a wheel built for glibc 2.17 is listed as manylinux_2_17 or manylinux2014, and runs on 2.28)."""
    found = re.fullmatch(r"manylinux_2_(\d+)_(\w+)", platform)
    if not found:
        return [platform]
    glibc, arch = int(found.group(1)), found.group(2)
    legacy = [f"manylinux{name}_{arch}" for name, minor in (("2014", 17), ("2010", 12), ("1", 5)) if minor <= glibc]
    return [f"manylinux_2_{minor}_{arch}" for minor in range(glibc, 4, -1)] + legacy


def build(dest: Path, python_version: str, platform: str) -> int:
    """Every wheel of the closure for the target in `dest`: this machine's closure first (wheels, and
    source archives where a package has none, built into wheels here), then the target's wheels."""
    pip = [sys.executable, "-m", "pip"]
    reqs = requirements()
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run([*pip, "download", "--dest", str(dest), *reqs], check=True)
    sources = sorted(p for p in dest.iterdir() if p.name.endswith((".tar.gz", ".zip")))
    if sources:
        subprocess.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(dest), *map(str, sources)], check=True)
        for source in sources:
            source.unlink()
    platforms = [arg for tag in platform_tags(platform) for arg in ("--platform", tag)]
    target = subprocess.run([*pip, "download", "--only-binary=:all:", *platforms, "--python-version", python_version,
                             "--implementation", "cp", "--find-links", str(dest), "--dest", str(dest), *reqs])
    if target.returncode != 0:
        print(f"gpu_wheels: a package above has no wheel for Python {python_version} on {platform}, and the one "
              "built here from its source does not suit it: build the wheelhouse on a machine like the GPU one "
              "(same platform and Python)", file=sys.stderr)
        return 1
    print(f"gpu_wheels: {len(list(dest.glob('*.whl')))} wheels in {dest} for Python {python_version} on {platform}")
    return 0


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
