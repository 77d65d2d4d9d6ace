"""Typed configs: ``build`` refuses unknown keys, wrong types and out-of-range values in one line naming the
source and the dotted field; ``to_dict`` gives the dict back in declaration order."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any, Literal

import pytest

from moud_core.errors import ConfigError
from moud_core.typed_config import at_least, between, build, to_dict


@dataclass(frozen=True)
class Inner:
    n: int = field(default=2, metadata=at_least(1))
    share: float = field(default=0.5, metadata=between(0, 1))
    labels: tuple[str, ...] = ()

    def check(self, need) -> None:
        need(self.n % 2 == 0, "n", "an even integer")


@dataclass(frozen=True)
class Outer:
    name: str
    mode: Literal["a", "b"] = "a"
    path: str | None = None
    flag: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    inner: Inner = field(default_factory=Inner)


def test_build_and_to_dict_round_trip():
    data = {"name": "x", "mode": "b", "path": None, "flag": True, "extra": {"k": [1]}, "inner": {"n": 4}}
    obj = build(Outer, data, "f.yaml")
    assert obj.inner.n == 4 and obj.inner.share == 0.5 and obj.mode == "b"
    with pytest.raises(FrozenInstanceError):
        obj.name = "y"  # type: ignore[misc]
    out = to_dict(build(Outer, {**data, "inner": {"n": 4, "share": 1, "labels": ["fr"]}}, "f.yaml"))
    assert list(out) == ["name", "mode", "path", "flag", "extra", "inner"]
    assert out["inner"] == {"n": 4, "share": 1, "labels": ["fr"]}  # an int stays an int: same JSON
    assert json.dumps(out["inner"]) == '{"n": 4, "share": 1, "labels": ["fr"]}'


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"name": "x", "inner": {"m": 1}},
            "f.yaml: unknown field 'inner.m'; expected one of labels, n, share",
        ),
        ({}, "f.yaml: missing field 'name'"),
        ({"name": 3}, "f.yaml: field 'name': expected a string, got 3"),
        ({"name": "x", "mode": "c"}, "f.yaml: field 'mode': expected one of a, b, got 'c'"),
        ({"name": "x", "flag": 1}, "f.yaml: field 'flag': expected true or false, got 1"),
        ({"name": "x", "path": 5}, "f.yaml: field 'path': expected a string or null, got 5"),
        ({"name": "x", "inner": {"n": 0}}, "f.yaml: field 'inner.n': expected an integer >= 1, got 0"),
        ({"name": "x", "inner": {"n": True}}, "f.yaml: field 'inner.n': expected an integer >= 1, got True"),
        ({"name": "x", "inner": {"n": 3}}, "f.yaml: field 'inner.n': expected an even integer, got 3"),
        (
            {"name": "x", "inner": {"share": 2}},
            "f.yaml: field 'inner.share': expected a number between 0 and 1, got 2",
        ),
        ({"name": "x", "inner": {"labels": "fr"}}, "f.yaml: field 'inner.labels': expected a list, got 'fr'"),
        (
            {"name": "x", "inner": {"labels": [1]}},
            "f.yaml: field 'inner.labels[0]': expected a string, got 1",
        ),
        ({"name": "x", "inner": []}, "f.yaml: field 'inner': expected a mapping, got []"),
    ],
)
def test_bad_values_are_one_line_naming_the_field(data, message):
    with pytest.raises(ConfigError) as err:
        build(Outer, data, "f.yaml")
    assert str(err.value) == message


def test_origins_and_labels_name_the_source():
    origins = {"inner": "user.yaml", "name": "command line"}
    with pytest.raises(ConfigError, match=r"^user.yaml: field 'inner.n': expected an integer >= 1, got 0$"):
        build(Outer, {"name": "x", "inner": {"n": 0}}, "defaults", origins=origins)
    with pytest.raises(ConfigError, match=r"^--inner-n: expected an integer >= 1, got 0$"):
        build(Outer, {"name": "x", "inner": {"n": 0}}, "x", label=lambda d: "--" + d.replace(".", "-"))
