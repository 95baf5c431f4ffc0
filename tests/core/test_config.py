"""The params reader: values that survive `dvc exp run -S`, and errors that name the key."""

import re
from dataclasses import dataclass, field
from typing import Literal

import pytest

from evolcoder.config import ConfigError, check, from_dict, load_runtime, load_section, load_value


@dataclass
class Inner:
    path: str | None = None
    weight: float = 1.0


@dataclass
class Section:
    lr: float = 1e-4
    steps: int = 10
    name: str = "x"
    flag: bool = False
    mode: Literal["a", "b"] = "a"
    tags: list[str] = field(default_factory=list)
    inner: Inner = field(default_factory=Inner)
    table: dict[str, Inner] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check(self.lr > 0, "train.lr", f"must be positive, got {self.lr}")


def write(tmp_path, text):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return path


def test_dvc_exp_run_rewrite_reads_back_as_float(tmp_path):
    # `dvc exp run -S train.lr=2e-5` writes this; PyYAML would read a string.
    path = write(tmp_path, "train:\n  lr: 2e-05\n  steps: 3\n")
    section = load_section(path, "train", Section)
    assert section.lr == pytest.approx(2e-5) and isinstance(section.lr, float)
    assert section.steps == 3


def test_quoted_numbers_are_coerced(tmp_path):
    section = load_section(write(tmp_path, "train:\n  lr: '3e-4'\n  steps: '7'\n"), "train", Section)
    assert (section.lr, section.steps) == (3e-4, 7)


def test_defaults_fill_missing_keys(tmp_path):
    section = load_section(write(tmp_path, "train: {}\n"), "train", Section)
    assert section == Section()


def test_unknown_key_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key train\.lrate"):
        load_section(write(tmp_path, "train:\n  lrate: 1\n"), "train", Section)


def test_nested_unknown_key_is_named():
    with pytest.raises(ConfigError, match=r"unknown key train\.inner\.paht"):
        from_dict(Section, {"inner": {"paht": "x"}}, "train")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"steps": "many"}, r"train\.steps: expected an integer"),
        ({"steps": 2.5}, r"train\.steps: expected an integer"),
        ({"lr": "fast"}, r"train\.lr: expected a number"),
        ({"flag": "maybe"}, r"train\.flag: expected true or false"),
        ({"mode": "c"}, r"train\.mode: 'c' is not one of"),
        ({"tags": "a"}, r"train\.tags: expected a list"),
        ({"tags": ["a", 3]}, r"train\.tags\[1\]: expected a string"),
        ({"table": {"k": {"weight": "w"}}}, r"train\.table\.k\.weight: expected a number"),
        ({"lr": -1}, r"train\.lr: must be positive"),
    ],
)
def test_wrong_values_are_named(data, message):
    with pytest.raises(ConfigError, match=message):
        from_dict(Section, data, "train")


def test_optional_and_nested_values():
    section = from_dict(Section, {"inner": {"path": None, "weight": 2}, "table": {"k": {}}}, "train")
    assert section.inner == Inner(None, 2.0)
    assert section.table == {"k": Inner()}


def test_missing_section_is_named(tmp_path):
    with pytest.raises(ConfigError, match="missing section 'train'"):
        load_section(write(tmp_path, "seed: {}\n"), "train", Section)


@dataclass
class Speed:
    """A section's runtime knobs in a class of their own, shaped like `runtime.train`."""

    workers: int | None = None
    cache: bool = True

    def __post_init__(self) -> None:
        check(self.workers is None or self.workers >= 1, "runtime.train.workers", "must be >= 1")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("train: {}\n", Speed()),
        ("train: {}\nruntime:\n  train:\n    workers: 2\n", Speed(workers=2)),
        ("train: {}\nruntime:\n  train:\n    cache: 'false'\n", Speed(cache=False)),
    ],
)
def test_runtime_knobs_of_their_own_class_read_runtime_section_with_defaults(tmp_path, text, expected):
    assert load_runtime(write(tmp_path, text), "train", Speed) == expected


@dataclass
class Part:
    workers: int = 1


@dataclass
class WithPart:
    """A runtime class with a part the recipe has too, as `runtime.generate.server` and `generate.server`."""

    batch_size: int = 8
    server: Part = field(default_factory=Part)


@pytest.mark.parametrize(
    ("schema", "text", "message"),
    [
        (Speed, "train:\n  workers: 4\n", r"^train\.workers is a runtime knob .* move it to runtime\.train\.workers$"),
        (WithPart, "train:\n  server: {model: m, workers: 4}\n",
         r"^train\.server\.workers is a runtime knob .* move it to runtime\.train\.server\.workers$"),
        (Speed, "train: {}\nruntime:\n  train:\n    lr: 1\n", r"^unknown key runtime\.train\.lr \(known: cache, workers\)"),
        (Speed, "train: {}\nruntime:\n  train:\n    workers: 0\n", r"^runtime\.train\.workers: must be >= 1"),
        (Speed, "train: {}\nruntime:\n  train:\n    workers: many\n", r"^runtime\.train\.workers: expected an integer"),
    ],
)
def test_runtime_knobs_are_checked_where_they_are_written(tmp_path, schema, text, message):
    with pytest.raises(ConfigError, match=message):
        load_runtime(write(tmp_path, text), "train", schema)


def test_a_part_the_recipe_shares_keeps_its_recipe_keys_there(tmp_path):
    path = write(tmp_path, "train:\n  server: {model: m}\nruntime:\n  train:\n    server: {workers: 3}\n")
    assert load_runtime(path, "train", WithPart) == WithPart(server=Part(workers=3))


def test_a_value_of_another_section_is_read_by_its_dotted_key(tmp_path):
    path = write(tmp_path, "train:\n  max_length: '512'\nmodel:\n  init: scratch\n")
    assert load_value(path, "train.max_length", int) == 512
    assert load_value(path, "model.revision", str | None, None) is None
    with pytest.raises(ConfigError, match=r"missing key model\.revision"):
        load_value(path, "model.revision", str)
    with pytest.raises(ConfigError, match=r"^model\.init: expected an integer, got 'scratch'"):
        load_value(path, "model.init", int)


def test_a_params_file_that_is_not_yaml_is_one_line_with_file_line_and_column(tmp_path):
    path = write(tmp_path, "train:\n  lr: [1, 2\n  steps: 3\n")
    with pytest.raises(ConfigError) as raised:
        load_section(path, "train", Section)
    assert re.fullmatch(rf"{re.escape(str(path))}:\d+:\d+: not valid YAML: .+", str(raised.value))
