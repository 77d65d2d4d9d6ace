"""Robust parsing of judge answers: JSON inside code fences or surrounded by text, one or many items.

An answer is accepted per item only when every criterion has an integer score on the 1-5 scale;
anything else yields a failure reason for that item (the judge retries it, and never counts it as a
low score).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from eval.rubric import LEVELS

_REFUSAL = re.compile(
    r"\b(i('m| am)? (sorry|unable)|i can(no|')t|i cannot|i won't|as an ai|not able to (help|comply)"
    r"|cannot (help|assist|comply)|can't (help|assist|comply))",
    re.IGNORECASE,
)
_DECODER = json.JSONDecoder()


@dataclass
class Parsed:
    scores: dict[str, int] | None = None
    rationale: str = ""
    reason: str = ""  # failure tag when scores is None
    detail: str = ""


def _json_values(text: str) -> list:
    """Top-level JSON objects/arrays found in ``text`` (code fences and prose around them ignored)."""
    text = re.sub(r"```(?:json|JSON)?", "\n", text)
    found, i = [], 0
    while i < len(text):
        if text[i] in "{[":
            try:
                value, end = _DECODER.raw_decode(text, i)
            except json.JSONDecodeError:
                i += 1
                continue
            if isinstance(value, (dict, list)):
                found.append(value)
            i = end
        else:
            i += 1
    return found


def _entries(value, item_ids: Sequence[str], criteria: Sequence[str]) -> list[dict] | None:
    if isinstance(value, dict):
        if isinstance(value.get("items"), list):
            return [e for e in value["items"] if isinstance(e, dict)]
        if "scores" in value:
            return [value]
        if any(k in value for k in item_ids) and all(isinstance(v, dict) for v in value.values()):
            return [dict(v, id=k) for k, v in value.items()]
        if any(k in value for k in criteria):
            return [{"scores": value, "rationale": value.get("rationale", "")}]
        return None
    if isinstance(value, list) and value and all(isinstance(e, dict) for e in value):
        return value
    return None


def _score(value) -> int | None | str:
    """An integer score, or a failure tag ('invalid_score' / 'out_of_range')."""
    if isinstance(value, dict):
        value = value.get("score", value.get("value"))
    if isinstance(value, bool) or value is None:
        return "invalid_score"
    if isinstance(value, str):
        value = value.strip()
        if not re.fullmatch(r"[+-]?\d+(\.0+)?", value):
            return "invalid_score"
        value = float(value)
    if not isinstance(value, (int, float)) or value != int(value):
        return "invalid_score" if not isinstance(value, (int, float)) else "out_of_range"
    value = int(value)
    return value if LEVELS[0] <= value <= LEVELS[-1] else "out_of_range"


def _check(entry: dict, criteria: Sequence[str]) -> Parsed:
    raw = entry.get("scores")
    if not isinstance(raw, dict):
        raw = {k: v for k, v in entry.items() if k in criteria}
    scores: dict[str, int] = {}
    for name in criteria:
        if name not in raw:
            return Parsed(reason="missing_criterion", detail=name)
        value = _score(raw[name])
        if isinstance(value, str):
            return Parsed(reason=value, detail=f"{name}={raw[name]!r}"[:200])
        scores[name] = value
    rationale = entry.get("rationale") or entry.get("reasoning") or entry.get("explanation") or ""
    if not isinstance(rationale, str):
        rationale = json.dumps(rationale, ensure_ascii=False)
    return Parsed(scores, rationale.strip())


def parse_answer(
    text: str, item_ids: Sequence[str], criteria: Sequence[str], finish_reason: str = "stop"
) -> dict[str, Parsed]:
    """One ``Parsed`` per item id (scores or a failure reason)."""
    entries = None
    for value in _json_values(text or ""):
        entries = _entries(value, item_ids, criteria)
        if entries:
            break
    if not entries:
        if finish_reason == "content_filter" or _REFUSAL.search(text or ""):
            reason = "refused"
        elif finish_reason == "length":
            reason = "truncated"
        else:
            reason = "unparsable"
        return {i: Parsed(reason=reason, detail=(text or "")[:200]) for i in item_ids}
    by_id: dict[str, dict] = {}
    has_ids = any(isinstance(e.get("id", e.get("item_id")), str) for e in entries)
    if has_ids:
        for e in entries:
            key = e.get("id", e.get("item_id"))
            if isinstance(key, str) and key.strip() in item_ids:
                by_id.setdefault(key.strip(), e)
    elif len(entries) == len(item_ids):
        by_id = dict(zip(item_ids, entries, strict=True))
    return {
        i: _check(by_id[i], criteria) if i in by_id else Parsed(reason="missing_item", detail=i)
        for i in item_ids
    }
