"""Robust parsing of LLM output: persona lists, common grounds and single dialogue utterances."""

from __future__ import annotations

import json
import re

import regex


class ParseFailure(Exception):
    """Output that cannot be used; ``reason`` is a short tag recorded with the failure."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$", re.MULTILINE)
_LIST_MARK = regex.compile(
    r"^\s*(?:[-*•·‣▪–—]|\(?\d{1,2}[.)、:：]|\(?[a-zA-Z][.)]|[一二三四五六七八九十]+[、.．])\s*"
)
_HEADER = regex.compile(r"^\s*(?:#+\s*)?[\p{L}\p{M} ]{1,40}[:：]\s*$")
_SENTENCE_END = regex.compile(r"(?<=[。！？])\s*|(?<=[.!?।؟۔])\s+")
_LABEL = regex.compile(
    r"^\s*(?:\*\*)?(?:[AB]|Person [AB]|Speaker \d|Persona [AB]|[\p{Lu}\p{Lo}][\p{L}\p{M}]{0,20})"
    r"(?:\*\*)?[:：](?:\*\*)?\s*"
)
_CG_LABEL = regex.compile(
    r"^\s*(?:\*\*)?(?:common ground|premise|situation|context|setting|narrator)(?:\*\*)?\s*[:：]\s*", regex.I
)
_QUOTES = "\"'“”„«»「」『』‘’"


def _strip_fences(text: str) -> str:
    return _FENCE.sub("", text.strip()).strip()


def parse_persona(text: str, num_sentences: int, min_sentences: int | None = None) -> list[str]:
    """First-person sentences from a numbered/bulleted list, JSON, or prose. Raises ParseFailure."""
    min_sentences = min_sentences if min_sentences is not None else max(1, num_sentences - 1)
    raw = _strip_fences(text or "")
    if not raw:
        raise ParseFailure("empty_output")
    sentences = _from_json(raw)
    if sentences is None:
        lines = [ln for ln in (line.strip() for line in raw.splitlines()) if ln]
        if sum(1 for ln in lines if _LIST_MARK.match(ln)) >= min_sentences:
            lines = [ln for ln in lines if _LIST_MARK.match(ln)]  # a list: lines around it are not persona
        items = []
        for ln in lines:
            if _HEADER.match(ln) and not _LIST_MARK.match(ln):
                continue  # "Persona:" / "Voici la persona :"
            items.append(_LIST_MARK.sub("", ln).strip())
        if len(items) == 1:
            items = [s.strip() for s in _SENTENCE_END.split(items[0]) if s.strip()]
        sentences = items
    sentences = [s.strip().strip(_QUOTES).strip() for s in sentences]
    sentences = [re.sub(r"\*\*|__", "", s) for s in sentences if s]
    too_long = [s for s in sentences if len(s) > 300]
    if too_long:
        raise ParseFailure("sentence_too_long", f"{len(too_long[0])} characters")
    if len(sentences) < min_sentences:
        raise ParseFailure("too_few_sentences", f"got {len(sentences)}, need {min_sentences}")
    return sentences[:num_sentences]


def _from_json(raw: str) -> list[str] | None:
    if not raw.startswith(("[", "{")):
        return None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return None
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), None)
    if isinstance(data, list) and all(isinstance(s, str) for s in data):
        return data
    return None


def clean_common_ground(text: str, min_chars: int = 20, max_chars: int = 1500) -> str:
    raw = _strip_fences(text or "")
    lines = [ln.strip() for ln in raw.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not (_HEADER.match(ln))]
    out = " ".join(_CG_LABEL.sub("", ln, count=1) if i == 0 else ln for i, ln in enumerate(lines)).strip()
    out = out.strip(_QUOTES).strip()
    if len(out) < min_chars:
        raise ParseFailure("common_ground_too_short", f"{len(out)} characters")
    if len(out) > max_chars:
        raise ParseFailure("common_ground_too_long", f"{len(out)} characters")
    return out


def clean_utterance(text: str, max_chars: int = 1000) -> str:
    """One utterance: drop a leading speaker label, surrounding quotes, and anything after the model
    starts writing the other speaker's turn (a new line starting with a label)."""
    raw = _strip_fences(text or "")
    lines = [ln.strip() for ln in raw.splitlines() if ln.strip()]
    if not lines:
        return ""
    kept = [_LABEL.sub("", lines[0], count=1) if _LABEL.match(lines[0]) and len(lines[0]) > 3 else lines[0]]
    for ln in lines[1:]:
        if _LABEL.match(ln):
            break  # the model started the other speaker's turn
        kept.append(ln)
    out = " ".join(kept).strip()
    if len(out) >= 2 and out[0] in _QUOTES and out[-1] in _QUOTES:
        out = out[1:-1].strip()
    return out[:max_chars].strip()


_NOT_WORDS = regex.compile(r"[\p{P}\p{S}\s]+")


def normalized_for_loop(text: str) -> str:
    return _NOT_WORDS.sub("", text.casefold())
