"""What the review API shows a rater: their progress, their language, the rubric and one item (with the
invisible characters its texts hold, so the page can show each as a visible marker)."""

from __future__ import annotations

import unicodedata

from moud_core.errors import ConfigError
from moud_core.languages import get_language

# invisible letters that are not format characters (Unicode category Cf, which covers the bidirectional
# controls, zero-width space/joiners, word joiner, soft hyphen, BOM and tags)
INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")


def invisible_chars(texts) -> dict[str, str]:
    """{"U+202E": "RIGHT-TO-LEFT OVERRIDE", ...} for every invisible character in ``texts``."""
    found = {ch for t in texts for ch in t if ch in INVISIBLE_LETTERS or unicodedata.category(ch) == "Cf"}
    return {f"U+{ord(ch):04X}": unicodedata.name(ch, "FORMAT CHARACTER") for ch in sorted(found)}


def progress(items: tuple[str, ...], scored: dict[str, set[str]], marks: dict[str, str], full: int) -> dict:
    """A rater's progress over their queue ``items``: ``scored`` criteria and ``marks`` by item."""
    rated = sum(1 for names in scored.values() if len(names) >= full)
    skipped = sum(1 for m in marks.values() if m == "skip")
    foreign = len(marks) - skipped
    first_open = next((p for p, i in enumerate(items) if i not in marks and len(scored.get(i, ())) < full), 0)
    return {
        "total": len(items),
        "done": rated + skipped + foreign,
        "rated": rated,
        "skipped": skipped,
        "not_my_language": foreign,
        "partly_rated": sum(1 for names in scored.values() if 0 < len(names) < full),
        "first_open": first_open,
    }


def language(code: str) -> dict:
    try:
        lang = get_language(code)
        return {"code": code, "name": lang.name, "native_name": lang.native_name, "direction": lang.direction}
    except ConfigError:
        return {"code": code, "name": code, "native_name": code, "direction": "ltr"}


def criteria(folder) -> list[dict]:
    return [
        {
            "name": c.name,
            "description": c.description,
            "focus": c.focus.get(folder.manifest["kind"], ""),
            "direction": c.direction,
            "scale": {str(k): v for k, v in c.scale.items()},
        }
        for c in folder.criteria
    ]


def item(rec: dict, event) -> dict:
    """The dialogue as the page shows it (no generator model, no judge scores)."""
    texts = [*rec["persona_a"], *rec["persona_b"], rec["common_ground"], *(t["text"] for t in rec["turns"])]
    return {
        "item_id": rec["item_id"],
        "speech_event": {
            "id": rec["speech_event"],
            "name": event.name if event else rec["speech_event"],
            "definition": event.definition if event else "",
        },
        "persona_a": rec["persona_a"],
        "persona_b": rec["persona_b"],
        "common_ground": rec["common_ground"],
        "turns": rec["turns"],
        "invisible": invisible_chars(texts),
    }
