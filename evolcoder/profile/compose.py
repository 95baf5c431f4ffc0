"""Profiles: overlays of conf/config.yaml, composed by DVC's own Hydra composition.

`dvc exp run -S profile=NAME -S variant=NAME -S key=value` composes conf/config.yaml with
conf/profile/NAME.yaml, then conf/variant/NAME.yaml, then the overrides, and writes the result
to params.yaml before it runs (`dvc.utils.hydra.compose_and_dump`, with the hydra settings of
the repository's DVC config). `compose` calls that same function on the same inputs, so what it
returns is byte for byte what `dvc exp run` would write. An overlay's first comment line after
`# @package _global_` is its one-line description.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from evolcoder.errors import EvolcoderError

PARAMS_FILE = "params.yaml"  # the file DVC's hydra composition writes (ParamsDependency.DEFAULT_PARAMS_FILE)
GROUPS = ("profile", "variant")  # the config groups of conf/config.yaml's defaults list


class ProfileError(EvolcoderError):
    """A profile or variant that does not exist, or a composition Hydra refuses."""


@dataclass(frozen=True)
class HydraSettings:
    """Where DVC reads the composition from: the `hydra` section of .dvc/config, DVC's defaults filled in."""

    config_dir: Path
    config_name: str
    plugins_path: Path


@dataclass(frozen=True)
class Overlay:
    group: str
    name: str
    path: Path
    description: str


def repo_root() -> str:
    """The DVC repository around the current folder, found as DVC finds it."""
    from dvc.exceptions import NotDvcRepoError
    from dvc.repo import Repo

    try:
        return Repo.find_root()
    except NotDvcRepoError as e:
        raise ProfileError(f"{e}: run this inside the repository whose conf/ holds the profiles") from None


def hydra_settings(root: str | Path) -> HydraSettings:
    """The hydra settings DVC uses in the repository at `root` (its config levels merged, as DVC reads them)."""
    from dvc.config import Config

    root = Path(root).resolve()
    hydra = Config(dvc_dir=str(root / ".dvc"))["hydra"]
    if not hydra.get("enabled"):
        raise ProfileError(f"{root / '.dvc/config'}: hydra composition is off, so `dvc exp run` would not compose "
                           "profiles; turn it on with `dvc config hydra.enabled True`")
    if hydra.get("config_module"):
        raise ProfileError(f"{root / '.dvc/config'}: hydra.config_module is set; profiles are read from a folder "
                           "(hydra.config_dir, default conf)")
    return HydraSettings(config_dir=root / hydra.get("config_dir", "conf"),
                         config_name=hydra.get("config_name", "config"),
                         plugins_path=root / hydra.get("plugins_path", ""))


def overlays(settings: HydraSettings, group: str) -> list[Overlay]:
    """The overlays of `group` (profile or variant), `default` first, then by name."""
    paths = sorted((settings.config_dir / group).glob("*.yaml"), key=lambda p: (p.stem != "default", p.stem))
    return [Overlay(group, path.stem, path, _description(path)) for path in paths]


def _description(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    if len(lines) < 2 or not lines[0].startswith("# @package") or not lines[1].startswith("# "):
        raise ProfileError(f"{path}:2: an overlay starts with `# @package _global_` and then one comment line "
                           "describing it")
    return lines[1].removeprefix("# ").strip()


def check_choice(settings: HydraSettings, group: str, name: str) -> None:
    """Refuse an overlay name that `group` does not have, listing those it has."""
    known = overlays(settings, group)
    if name not in {overlay.name for overlay in known}:
        listing = "\n".join(f"  {overlay.name}: {overlay.description}" for overlay in known)
        raise ProfileError(f"unknown {group} {name!r} (no {settings.config_dir / group / name}.yaml); known:\n{listing}")


def param_overrides(set_params: list[str]) -> list[str]:
    """The overrides of `-S [<file>:]<override>` arguments, parsed as `dvc exp run -S` parses them;
    only params.yaml is composed, so an override of another file is refused."""
    from dvc.utils.cli_parse import to_path_overrides

    by_file = to_path_overrides(set_params)
    others = sorted(set(by_file) - {PARAMS_FILE})
    if others:
        raise ProfileError(f"only {PARAMS_FILE} is composed from profiles; these -S name other files: {', '.join(others)}")
    return by_file.get(PARAMS_FILE, [])


def compose(root: str | Path, overrides: list[str]) -> str:
    """The params.yaml that `dvc exp run -S <overrides>` writes in the repository at `root`."""
    from dvc.utils.hydra import compose_and_dump
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    settings = hydra_settings(root)
    for override in overrides:
        group, sep, name = override.partition("=")
        if sep and group in GROUPS:
            check_choice(settings, group, name)
    import_path = list(sys.path)  # Hydra adds the plugins folder (the repository) and removes its first entry
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / PARAMS_FILE
        try:
            compose_and_dump(out, str(settings.config_dir), None, settings.config_name, str(settings.plugins_path),
                             overrides)
        except (HydraException, OmegaConfBaseException) as e:
            raise ProfileError(f"cannot compose {settings.config_dir / settings.config_name}.yaml with "
                               f"{' '.join(overrides) or 'no overrides'}: {e}") from None
        finally:
            sys.path[:] = import_path
        return out.read_text(encoding="utf-8")
