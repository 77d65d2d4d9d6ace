"""JSONL: one-line serialisation (orjson-fast, json-identical), atomic JSONL files, reading with file:line
errors."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from pathlib import Path

from moud_core.atomic import atomic_open
from moud_core.errors import MoudError, os_error

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
        if out[i + 2 : i + 3].isdigit() and not out[i + 3 : i + 4].isdigit():
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


def json_problem(exc: json.JSONDecodeError, with_line: bool = False) -> str:
    """``invalid JSON at column 7 (Expecting ',' delimiter)``: json's message without its dangling "at";
    for text that stops before its closing brace (a file cut off mid-line) it also says where it stops:
    ``...: the line is cut off after 3,201 characters (no closing brace), as when a file is truncated``."""
    what = re.sub(r"\s+(?:starting\s+)?at$", "", exc.msg)
    doc = exc.doc or ""
    pos = min(exc.pos, len(doc.rstrip()))  # not past the end: "column 1" of the line after a cut one
    lineno, colno = doc.count("\n", 0, pos) + 1, pos - doc.rfind("\n", 0, pos)
    where = f"line {lineno} column {colno}" if with_line else f"column {colno}"
    problem = f"invalid JSON at {where} ({what})"
    text = doc.strip()
    closing = {"{": "brace", "[": "bracket"}.get(text[:1])
    if closing and (pos == len(doc.rstrip()) or exc.msg.startswith("Unterminated string")):
        subject = "the file" if "\n" in text else f"line {lineno}" if with_line else "the line"
        problem += (
            f": {subject} is cut off after {len(text):,} characters (no closing {closing}), "
            "as when a file is truncated"
        )
    return problem


def read_json(path: str | Path, what: str = "JSON"):
    """The JSON value in the file at ``path`` (a UTF-8 BOM allowed); a one-line MoudError naming the file
    (and line) when it is missing or unreadable, not UTF-8 text or not valid JSON. ``what`` names what was
    expected."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise MoudError(f"{path}: file not found (expected {what})") from None
    except UnicodeDecodeError:
        raise MoudError(f"{path}: not UTF-8 text; expected {what}") from None
    except OSError as exc:
        raise os_error(path, exc, "read") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MoudError(f"{path}:{exc.lineno}: {json_problem(exc)}; expected {what}") from None


class JsonlError(MoudError):
    def __init__(self, path, lineno: int, problem: str):
        super().__init__(f"{path}:{lineno}: {problem}")
        self.path, self.lineno, self.problem = str(path), lineno, problem


def iter_jsonl(
    path: str | Path, skip_invalid: bool = False, errors: list | None = None
) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object). Invalid lines (not UTF-8, not JSON, not an object) raise
    JsonlError(file:line), or with ``skip_invalid`` are appended to ``errors`` and skipped. Blank lines are
    ignored; a UTF-8 byte-order mark at the start of the file is allowed."""
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise os_error(path, exc, "read") from None
    with fh:
        for lineno, raw in enumerate(fh, 1):
            if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[3:]
            obj, problem = parse_line(raw)
            if problem is None:
                if obj is not None:
                    yield lineno, obj
                continue
            err = JsonlError(path, lineno, problem)
            if not skip_invalid:
                raise err from None
            if errors is not None:
                errors.append(err)


def parse_line(raw: bytes) -> tuple[dict | None, str | None]:
    """(object, None) for a JSON object line, (None, None) for a blank line, else (None, problem): the one
    reading of a JSONL line (``iter_jsonl``, and the byte-offset scan of ``moud_core.row_source``)."""
    try:
        line = raw.decode("utf-8")
        if not line.strip():
            return None, None
        obj = json.loads(line)
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text (byte {exc.start + 1})"
    except json.JSONDecodeError as exc:
        return None, json_problem(exc)
    if not isinstance(obj, dict):
        return None, "expected a JSON object"
    return obj, None
