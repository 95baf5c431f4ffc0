"""`evolcoder profile`: print the params a profile composes to, as `dvc exp run` would write them."""

from __future__ import annotations

import argparse
import sys

from evolcoder.profile.compose import (GROUPS, ProfileError, compose, hydra_settings, overlays, param_overrides,
                                       repo_root)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("name", nargs="?", help="a profile: conf/profile/NAME.yaml (--list shows them)")
    what.add_argument("--list", action="store_true", help="list the profiles and variants, one line each")
    parser.add_argument("-S", "--set-param", dest="set_params", action="append", default=[],
                        metavar="[<filename>:]<override>",
                        help="as `dvc exp run -S` takes it: variant=NAME, key=value, +key=value (repeatable)")


def run(args: argparse.Namespace) -> int:
    root = repo_root()
    if args.list:
        sys.stdout.write(listing(root))
    else:
        overrides = param_overrides(args.set_params)
        if any(override.partition("=")[0] == "profile" for override in overrides):
            raise ProfileError(f"the profile is NAME ({args.name}); drop the -S profile=...")
        sys.stdout.write(compose(root, [f"profile={args.name}", *overrides]))
    return 0


def listing(root: str) -> str:
    """The profiles and variants of the repository at `root`, with their descriptions."""
    settings = hydra_settings(root)
    lines = []
    for group in GROUPS:
        found = overlays(settings, group)
        width = max(len(overlay.name) for overlay in found)
        lines.append(f"{group} (-S {group}=NAME):")
        lines += [f"  {overlay.name.ljust(width)}  {overlay.description}" for overlay in found]
    return "\n".join(lines) + "\n"
