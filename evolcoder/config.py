"""Typed, validated sections of a YAML params file.

Each stage describes its knobs as a dataclass; `load_section` reads one top-level key of a
params file into it. Values are coerced where the YAML round-trip loses their type
(`dvc exp run -S train.lr=2e-5` writes `lr: 2e-05`, which YAML 1.1 reads as a string), and
anything else that does not fit is an error naming the key, e.g. `train.lr`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from ruamel.yaml import YAML

from evolcoder.errors import EvolcoderError

T = TypeVar("T")


class ConfigError(EvolcoderError, ValueError):
    """A params value is missing, unknown, of the wrong type or out of range."""


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML file as plain Python values (YAML 1.2: `2e-05` is a float)."""
    yaml = YAML(typ="safe", pure=True)
    with open(path, encoding="utf-8") as f:
        data = yaml.load(f)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def load_section(path: str | Path, key: str, schema: type[T]) -> T:
    """Read `key` of the params file at `path` into the dataclass `schema`."""
    data = read_yaml(path)
    if key not in data:
        raise ConfigError(f"{path}: missing section '{key}'")
    return from_dict(schema, data[key], prefix=key)


def from_dict(schema: type[T], data: Any, prefix: str = "") -> T:
    """Build dataclass `schema` from a mapping, coercing and checking each field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or schema.__name__}: expected a mapping, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(schema)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        names = ", ".join(_join(prefix, k) for k in unknown)
        raise ConfigError(f"unknown key {names} (known: {', '.join(sorted(fields))})")
    hints = typing.get_type_hints(schema)
    values = {}
    for name, field in fields.items():
        where = _join(prefix, name)
        if name in data:
            values[name] = coerce(data[name], hints[name], where)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"missing key {where}")
    try:
        return schema(**values)
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{prefix}: {e}") from e


def coerce(value: Any, hint: Any, where: str) -> Any:
    """Return `value` as type `hint`, or raise ConfigError naming `where`."""
    origin = get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, where)
    if origin in (Union, types.UnionType):
        return _coerce_union(value, get_args(hint), where)
    if origin is Literal:
        if value in get_args(hint):
            return value
        raise ConfigError(f"{where}: {value!r} is not one of {list(get_args(hint))}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (item,) = get_args(hint)[:1] or (Any,)
        return [coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        key_t, val_t = get_args(hint) or (Any, Any)
        return {coerce(k, key_t, where): coerce(v, val_t, f"{where}.{k}") for k, v in value.items()}
    return _coerce_scalar(value, hint, where)


def _coerce_union(value: Any, options: tuple, where: str) -> Any:
    if value is None and type(None) in options:
        return None
    errors = []
    for option in (o for o in options if o is not type(None)):
        try:
            return coerce(value, option, where)
        except ConfigError as e:
            errors.append(str(e))
    raise ConfigError(errors[0] if len(errors) == 1 else f"{where}: {value!r} fits none of {options}")


def _coerce_scalar(value: Any, hint: Any, where: str) -> Any:
    if hint is Any:
        return value
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if hint in (int, float):
        return _coerce_number(value, hint, where)
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    raise TypeError(f"{where}: unsupported type {hint!r} in a config schema")


def _coerce_number(value: Any, hint: type[int] | type[float], where: str) -> int | float:
    """An int or float from a number or a numeric string (`dvc exp run -S` may leave either);
    a float becomes an int only when it is whole."""
    if isinstance(value, str):
        try:
            return hint(value)
        except ValueError:
            pass
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if hint is float:
            return float(value)
        if isinstance(value, int) or value.is_integer():
            return int(value)
    kind = "an integer" if hint is int else "a number"
    raise ConfigError(f"{where}: expected {kind}, got {value!r}")


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def check(condition: bool, where: str, message: str) -> None:
    """Raise ConfigError('<where>: <message>') unless `condition`; for `__post_init__` checks."""
    if not condition:
        raise ConfigError(f"{where}: {message}")
