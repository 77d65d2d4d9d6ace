"""JSONL: one-line serialisation (orjson-fast, json-identical), atomic JSONL files, reading with file:line errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from moud_core.atomic import atomic_open
from moud_core.errors import MoudError

try:
    import orjson
except ImportError:  # optional speed-up; the json module gives the same results
    orjson = None

# Where orjson's text differs from json's: floats in [1e-9, 1e-4) (orjson: 0.000015 and 1.5e-6, json:
# 1.5e-05 and 1.5e-06) and NaN/Infinity (orjson: null). Lines that may hold one go through json (the
# pattern also fires on harmless text such as "0.0000" or "null": then json is merely slower).
# (Reading stays with json: orjson turns integers beyond 64 bits into floats, and ruling that out costs
# more than orjson saves.)
def _orjson_may_differ(out: str) -> bool:
    """Whether orjson's text ``out`` may differ from json's: ``e-`` and one digit (a float in [1e-9, 1e-4)
    written 1.5e-6 instead of 1.5e-06), ``0.0000`` (written 0.000015 instead of 1.5e-05) or ``null``
    (NaN/Infinity). False positives (text such as "type-1") only cost a json.dumps."""
    if "0.0000" in out or "null" in out:
        return True
    i = out.find("e-")
    while i != -1:
        if out[i + 2:i + 3].isdigit() and not out[i + 3:i + 4].isdigit():
            return True
        i = out.find("e-", i + 2)
    return False


def dumps_line(obj) -> str:
    """``json.dumps(obj, ensure_ascii=False, separators=(",", ":"))``, byte for byte (orjson where it
    writes the same text: several times faster)."""
    if orjson is not None:
        try:
            out = orjson.dumps(obj).decode()
        except (TypeError, orjson.JSONEncodeError):  # big ints, non-str keys, lone surrogates...
            pass
        else:
            if not _orjson_may_differ(out):
                return out
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def write_jsonl_atomic(path: str | Path, rows) -> int:
    n = 0
    with atomic_open(path, "w") as fh:
        for row in rows:
            fh.write(dumps_line(row))
            fh.write("\n")
            n += 1
    return n


class JsonlError(MoudError):
    def __init__(self, path, lineno: int, problem: str):
        super().__init__(f"{path}:{lineno}: {problem}")
        self.path, self.lineno, self.problem = str(path), lineno, problem


def iter_jsonl(path: str | Path, skip_invalid: bool = False, errors: list | None = None) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object). Invalid lines raise JsonlError(file:line), or with ``skip_invalid``
    are appended to ``errors`` as JsonlError and skipped. Blank lines are ignored."""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                err = JsonlError(path, lineno, f"invalid JSON ({exc.msg} at column {exc.colno})")
                if not skip_invalid:
                    raise err from None
                if errors is not None:
                    errors.append(err)
                continue
            if not isinstance(obj, dict):
                err = JsonlError(path, lineno, "expected a JSON object")
                if not skip_invalid:
                    raise err
                if errors is not None:
                    errors.append(err)
                continue
            yield lineno, obj
