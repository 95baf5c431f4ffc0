"""Typed, validated sections of a YAML params file.

Each stage describes its knobs as a dataclass; `load_section` reads one top-level key of a
params file into it, validated by pydantic (`TypeAdapter` over the plain dataclass): values
are coerced where the YAML round-trip loses their type (`dvc exp run -S train.lr=2e-5`
writes `lr: 2e-05`, which YAML 1.1 reads as a string), and anything else that does not fit
is one line naming the key, the value and what was expected, e.g.
`train.per_device_batch_size: expected an integer, got 'eight'`. Range checks live in each
dataclass's `__post_init__` (`check`).

Params come in two kinds. The recipe (what changes an output) sits in the stage's section,
which DVC hashes. Speed and scratch knobs (concurrency, shards, workers, caches, save
steps) sit under `runtime.<section>`, which no stage lists, so changing one reruns nothing.
Each section's runtime knobs are read by `load_runtime` into a class of their own, shaped like
`runtime.<section>` (`TrainRuntime` for `runtime.train`, ...), so a knob has one address; one
written in the hashed section is refused with where to move it.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import typing
from pathlib import Path
from typing import Any, TypeVar

import pydantic
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from evolcoder.errors import EvolcoderError

T = TypeVar("T")
PARAMS_FILE = "params.yaml"  # the params file DVC reads, at the repository's root
RUNTIME_SECTION = "runtime"
_EXPECTED = {  # pydantic error type -> what the user should have written
    "int_parsing": "an integer", "int_from_float": "an integer", "int_type": "an integer",
    "float_parsing": "a number", "float_type": "a number", "bool_parsing": "true or false",
    "bool_type": "true or false", "string_type": "a string", "list_type": "a list",
    "dict_type": "a mapping", "dataclass_type": "a mapping", "dataclass_args_type": "a mapping",
}


class ConfigError(EvolcoderError, ValueError):
    """A params value is missing, unknown, of the wrong type or out of range."""


def add_params_option(parser: argparse.ArgumentParser) -> None:
    """`--params FILE` for a command that reads a params file."""
    parser.add_argument("--params", type=Path, default=Path(PARAMS_FILE),
                        help=f"params file (default: {PARAMS_FILE})")


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML file as plain Python values (YAML 1.2: `2e-05` is a float)."""
    yaml = YAML(typ="safe", pure=True)
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.load(f)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML: {e.problem or e.context}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def load_section(path: str | Path, key: str, schema: type[T]) -> T:
    """Read `key` of the params file at `path` into `schema` (the section's recipe)."""
    data = read_yaml(path)
    if key not in data:
        raise ConfigError(f"{path}: missing section '{key}'")
    return from_dict(schema, data[key], prefix=key)


def load_runtime(path: str | Path, key: str, schema: type[T]) -> T:
    """The `runtime.<key>` knobs of the params file at `path` as `schema` (a dataclass shaped like
    that section; its defaults where the section or a knob is absent)."""
    data = read_yaml(path)
    runtime = data.get(RUNTIME_SECTION) or {}
    if not isinstance(runtime, dict):
        raise ConfigError(f"{path}: '{RUNTIME_SECTION}' must be a mapping, got {runtime!r}")
    _refuse_misplaced(schema, data.get(key), key)
    return from_dict(schema, runtime.get(key) or {}, prefix=f"{RUNTIME_SECTION}.{key}")


def _refuse_misplaced(schema: type, section: Any, where: str) -> None:
    """Refuse a knob of runtime class `schema` written in the recipe's `section` (at `where`); a
    part both have (`generate.server`) is searched in turn."""
    if not isinstance(section, dict):
        return
    hints = typing.get_type_hints(schema)
    for f in dataclasses.fields(schema):  # type: ignore[arg-type]
        if f.name not in section:
            continue
        if dataclasses.is_dataclass(hints[f.name]) and isinstance(section[f.name], dict):
            _refuse_misplaced(hints[f.name], section[f.name], f"{where}.{f.name}")
        else:
            raise _misplaced(where, f.name)


_REQUIRED: Any = object()


def load_value(path: str | Path, dotted: str, hint: Any, default: Any = _REQUIRED) -> Any:
    """One value of the params file at `path` by its dotted key (`train.max_length`), validated as
    `hint`: for a stage that reads a knob of another stage's section (and lists it in dvc.yaml)."""
    value: Any = read_yaml(path)
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            if default is _REQUIRED:
                raise ConfigError(f"{path}: missing key {dotted}")
            return default
        value = value[part]
    return coerce(value, hint, dotted)


def _misplaced(where: str, name: str) -> ConfigError:
    return ConfigError(f"{where}.{name} is a runtime knob (it changes speed, not results, so no stage "
                       f"hashes it): move it to {RUNTIME_SECTION}.{where}.{name}")


def from_dict(schema: type[T], data: Any, prefix: str = "") -> T:
    """Build dataclass `schema` from a mapping, coercing and checking each field."""
    return coerce(data, schema, prefix or schema.__name__)


def coerce(value: Any, hint: Any, where: str) -> Any:
    """Return `value` validated as type `hint`, or raise ConfigError naming `where`."""
    try:
        return _adapter(hint).validate_python([value])[0]
    except pydantic.ValidationError as e:
        error = e.errors()[0]
        raise ConfigError(_describe({**error, "loc": error["loc"][1:]}, hint, where)) from None


@functools.cache
def _adapter(hint: Any) -> pydantic.TypeAdapter:
    # A one-item list around the type: pydantic refuses a config for a bare dataclass but applies
    # one given to a container to the plain dataclasses inside it, so unknown keys are errors.
    return pydantic.TypeAdapter(list[hint], config=pydantic.ConfigDict(extra="forbid"))


def _describe(error: dict[str, Any], hint: Any, where: str) -> str:
    """One line for pydantic's first error: the dotted key, what was expected, what was given."""
    loc = [part for part in error["loc"] if not str(part).startswith(("function-", "lax-", "json-"))]
    path = where + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, ConfigError):  # a range check of __post_init__ names its own key
        return str(cause)
    kind, given = error["type"], error.get("input")
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        return f"unknown key {path} (known: {', '.join(_fields_at(hint, [str(p) for p in loc[:-1]]))})"
    if kind == "missing" or kind == "missing_argument":
        return f"missing key {path}"
    if kind == "literal_error":
        return f"{path}: {given!r} is not one of {error['ctx']['expected']}"
    if kind in _EXPECTED:
        return f"{path}: expected {_EXPECTED[kind]}, got {given!r}"
    return f"{path}: {error['msg']}, got {given!r}"


def _fields_at(hint: Any, loc: list[str]) -> list[str]:
    """Field names of the dataclass at `loc` inside `hint` (for unknown-key messages)."""
    for part in loc:
        if dataclasses.is_dataclass(hint):
            hint = typing.get_type_hints(hint).get(part, Any)
        else:  # a dict or list level: the value type
            args = typing.get_args(hint)
            hint = args[-1] if args else Any
        hint = next((a for a in typing.get_args(hint) if dataclasses.is_dataclass(a)), hint)
    return sorted(f.name for f in dataclasses.fields(hint)) if dataclasses.is_dataclass(hint) else []


def recipe(config: Any) -> dict[str, Any]:
    """A recipe's config dataclass as a dict: what decides the output, for run keys and
    fingerprints. Its runtime knobs live in a class of their own, so speed settings cannot
    change either."""
    return dataclasses.asdict(config)


def check(condition: bool, where: str, message: str) -> None:
    """Raise ConfigError('<where>: <message>') unless `condition`; for `__post_init__` checks."""
    if not condition:
        raise ConfigError(f"{where}: {message}")
