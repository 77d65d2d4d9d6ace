"""Typed configs: frozen dataclasses built from a merged settings dict (the YAML stays the source).

``build(cls, data, where)`` makes a ``cls`` from a mapping and refuses, in one line naming the file (or flag)
and the dotted field: unknown keys, missing fields, values of the wrong type (``bool``, ``int``, ``float``
(an int is a number too and is kept as given), ``str``, ``X | None``, ``Literal[...]``, ``tuple[X, ...]``
(a YAML list), ``dict[str, X]``, ``Any``, nested dataclasses (a mapping, or one already built)), and values
out of the range a field declares with ``at_least``/``between`` in its metadata. A class may add a
``check(self, need)`` method for rules across fields: ``need(ok, field, expected)`` raises when ``ok`` is
false. ``to_dict(obj)`` gives the plain dict back (fields in declaration order, tuples as lists): what
manifests record.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, get_args, get_origin

from moud_core.errors import ConfigError


def at_least(minimum) -> dict:
    """Field metadata: a number >= ``minimum``."""
    return {"min": minimum}


def between(minimum, maximum) -> dict:
    """Field metadata: a number in [``minimum``, ``maximum``]."""
    return {"min": minimum, "max": maximum}


class _Bad(Exception):
    """A value that does not fit its type: ``expected`` says what would."""

    def __init__(self, dotted: str, expected: str, value):
        self.dotted, self.expected, self.value = dotted, expected, value


def source_of(origins: Mapping[str, str] | None, dotted: str, default: str) -> str:
    """The source that set ``dotted`` or its closest parent section in ``origins``, else ``default``."""
    while origins and dotted:
        if dotted in origins:
            return origins[dotted]
        dotted = dotted.rpartition(".")[0]
    return default


def build(
    cls,
    data,
    where: str,
    *,
    origins: Mapping[str, str] | None = None,
    prefix: str = "",
    label: Callable[[str], str] | None = None,
):
    """A ``cls`` from ``data``; errors read ``<source>: field 'a.b': expected ..., got ...`` where the source
    is ``origins`` (dotted field -> file or "command line") or ``where``; ``label(dotted)`` replaces the
    ``<source>: field 'a.b'`` part (e.g. with a command-line flag)."""

    def name(dotted: str) -> str:
        return label(dotted) if label else f"{source_of(origins, dotted, where)}: field {dotted!r}"

    try:
        return _build(cls, data, prefix)
    except _Bad as bad:
        if bad.expected.startswith("unknown field") or bad.expected.startswith("missing field"):
            raise ConfigError(f"{source_of(origins, bad.dotted, where)}: {bad.expected}") from None
        raise ConfigError(f"{name(bad.dotted)}: expected {bad.expected}, got {bad.value!r}") from None


def _build(cls, data, prefix: str):
    if not isinstance(data, Mapping):
        raise _Bad(prefix.rstrip(".") or "settings", "a mapping", data)
    spec = _spec(cls)
    for key in data:
        if key not in spec:
            known = ", ".join(sorted(spec)) or "(none)"
            dotted = f"{prefix}{key}"
            raise _Bad(dotted, f"unknown field {dotted!r}; expected one of {known}", None)
    values = {}
    for key, (tp, meta, required) in spec.items():
        dotted = f"{prefix}{key}"
        if key not in data:
            if required:
                raise _Bad(dotted, f"missing field {dotted!r}", None)
            continue
        value = _convert(tp, data[key], dotted, meta)
        _check_range(value, meta, tp, dotted)
        values[key] = value
    obj = cls(**values)
    check = getattr(obj, "check", None)
    if check is not None:

        def need(ok: bool, field: str, expected: str) -> None:
            if not ok:
                raise _Bad(f"{prefix}{field}", expected, _plain(getattr(obj, field)))

        check(need)
    return obj


@functools.cache
def _spec(cls) -> dict[str, tuple[Any, Mapping, bool]]:
    hints = typing.get_type_hints(cls)
    return {
        f.name: (
            hints[f.name],
            f.metadata,
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
    }


def _convert(tp, value, dotted: str, meta: Mapping | None = None):
    if tp is Any:
        return copy.deepcopy(value)
    if dataclasses.is_dataclass(tp):
        return value if isinstance(value, tp) else _build(tp, value, f"{dotted}.")
    origin, args = get_origin(tp), get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, dotted)
            except _Bad:
                pass
        raise _Bad(dotted, describe(tp, meta), value)
    if origin is Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        raise _Bad(dotted, describe(tp), value)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _Bad(dotted, describe(tp), value)
        return tuple(_convert(args[0], v, f"{dotted}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise _Bad(dotted, describe(tp), value)
        return {k: _convert(args[1], v, f"{dotted}.{k}") for k, v in value.items()}
    if not _is(tp, value):
        raise _Bad(dotted, describe(tp, meta), value)
    return value


def _is(tp, value) -> bool:
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, tp)


def describe(tp, meta: Mapping | None = None) -> str:
    """What a value of type ``tp`` (and range ``meta``) looks like, in words."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in (typing.Union, types.UnionType):
        parts = [describe(a, meta) for a in args if a is not type(None)]
        return " or ".join(parts) + (" or null" if type(None) in args else "")
    if origin is Literal:
        return "one of " + ", ".join(map(str, args))
    if origin is tuple:
        return "a list"
    if origin is dict:
        return "a mapping"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    word = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(tp, tp.__name__)
    meta = meta or {}
    if "min" in meta and "max" in meta:
        return f"{word} between {meta['min']} and {meta['max']}"
    if "min" in meta:
        return f"{word} >= {meta['min']}"
    return word


def _check_range(value, meta: Mapping, tp, dotted: str) -> None:
    if not meta or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if ("min" in meta and value < meta["min"]) or ("max" in meta and value > meta["max"]):
        raise _Bad(dotted, describe(tp, meta), value)


def to_dict(obj) -> dict:
    """The plain dict of a built config: fields in declaration order, nested ones as dicts, tuples as
    lists."""
    return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def _plain(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return copy.deepcopy(value)
