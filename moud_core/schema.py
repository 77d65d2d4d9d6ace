"""The MOUD dialogue row: the one format every stage reads and writes (JSONL shards, Parquet, loaders).

A row (one JSON object per line in ``shards/<lang>/shard-NNNNN.jsonl``)::

    {
      "id": "fr-0000042",                 # "<language>-<7-digit dialogue index>", unique per run
      "language": "fr",                   # registry code
      "speech_event": "making_plans",     # id from data/speech_events.yaml
      "persona_a": ["Je suis ...", ...],  # first-person sentences
      "persona_b": [...],
      "common_ground": "...",             # the narrator's premise
      "turns": [{"speaker": "A", "text": "..."}, ...],   # speakers alternate, A or B may start
      "split_group": "3f2a...",           # rows sharing it must land in the same split
      "metadata": {...}                   # provenance, see METADATA_FIELDS
    }

Every key in ``METADATA_FIELDS`` is always present so the Parquet schema is fixed.
"""

from __future__ import annotations

import hashlib
from typing import Any

from moud_core.row_fields import (  # noqa: F401  (re-exported: the row's fields belong to the schema)
    LIST_ELEMENTS,
    METADATA_FIELDS,
    REJECTION_FIELDS,
    ROW_FIELDS,
    SAMPLING_FIELDS,
    SPEAKERS,
    STEPS,
    TURN_FIELDS,
)

# Lists of plain elements that only need their element type checked: (metadata field, exact types, what).
_PLAIN_META_LISTS = tuple(
    (
        path.split(".", 1)[1],
        (int, float) if typ is float else (typ,),
        "numbers" if typ is float else "strings",
    )
    for path, typ in LIST_ELEMENTS.items()
    if path.startswith("metadata.") and isinstance(typ, type)
)


def make_row_id(language: str, index: int) -> str:
    return f"{language}-{index:07d}"


def split_group_for(language: str, persona_a: list[str], persona_b: list[str]) -> str:
    """Rows with the same persona pair (in any order) share a split group."""
    pair = sorted(["\n".join(persona_a), "\n".join(persona_b)])
    return hashlib.sha256(("\x1f".join([language, *pair])).encode("utf-8")).hexdigest()[:16]


def _type_name(t) -> str:
    return {str: "string", int: "integer", float: "number", list: "list", dict: "object", bool: "boolean"}[t]


def _check_type(value, expected) -> bool:
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _exact_types(fields: dict[str, Any]) -> tuple[tuple[str, tuple[type, ...]], ...]:
    """(name, exact types a JSON parser produces that pass ``_check_type``) per field."""
    return tuple((name, (int, float) if typ is float else (typ,)) for name, typ in fields.items())


_ROW_EXACT, _META_EXACT, _SAMPLING_EXACT, _REJECTION_EXACT = (
    _exact_types(f) for f in (ROW_FIELDS, METADATA_FIELDS, SAMPLING_FIELDS, REJECTION_FIELDS)
)


def _plainly_valid(row: Any) -> bool:
    """A quick check with exact types (what json.loads produces): True only for rows ``validate_row``
    accepts; False sends the row through the full check, which reports the problems."""
    try:
        if type(row) is not dict:
            return False
        for name, types in _ROW_EXACT:
            if type(row[name]) not in types:
                return False
        for key in ("persona_a", "persona_b"):
            persona = row[key]
            if not persona or not all(type(x) is str and x.strip() for x in persona):
                return False
        turns = row["turns"]
        if not turns:
            return False
        for turn in turns:
            if (
                type(turn) is not dict
                or len(turn) != 2
                or turn.get("speaker") not in SPEAKERS
                or type(turn.get("text")) is not str
            ):
                return False
        meta = row["metadata"]
        for name, types in _META_EXACT:
            if type(meta[name]) not in types:
                return False
        for name, types, _what in _PLAIN_META_LISTS:
            for x in meta[name]:
                if type(x) not in types:
                    return False
        sampling, attempts = meta["sampling"], meta["step_attempts"]
        for step in STEPS:
            params = sampling[step]
            if type(params) is not dict or type(attempts[step]) is not int:
                return False
            for name, types in _SAMPLING_EXACT:
                if type(params[name]) not in types:
                    return False
        for entry in meta["rejected_outputs"]:
            if type(entry) is not dict:
                return False
            for name, types in _REJECTION_EXACT:
                if type(entry[name]) not in types:
                    return False
    except (KeyError, TypeError):
        return False
    return True


def language_problem(row: dict, language: str) -> str:
    return f"language: expected {language!r} (the shard's folder), got {row['language']!r}"


def validate_row(row: Any, language: str | None = None) -> list[str]:
    """The one row check, used by every reader and by `moud build`: a list of problems as 'field: what was
    expected' (empty when the row is valid). Element types are checked as the Parquet schema requires them
    (``LIST_ELEMENTS``). With ``language`` (the shard's folder), the row's language must be it."""
    if _plainly_valid(row):
        return [] if language is None or row["language"] == language else [language_problem(row, language)]
    if not isinstance(row, dict):
        return ["row: expected a JSON object"]
    errors: list[str] = []
    for name, typ in ROW_FIELDS.items():
        if name not in row:
            errors.append(f"{name}: missing")
        elif not _check_type(row[name], typ):
            errors.append(f"{name}: expected {_type_name(typ)}, got {type(row[name]).__name__}")
    if errors:
        return errors
    for key in ("persona_a", "persona_b"):
        if not row[key] or not all(isinstance(s, str) and s.strip() for s in row[key]):
            errors.append(f"{key}: expected a non-empty list of non-empty strings")
    if not row["turns"]:
        errors.append("turns: expected at least one turn")
    for i, turn in enumerate(row["turns"]):
        if not isinstance(turn, dict) or set(turn) != set(TURN_FIELDS):
            errors.append(f"turns[{i}]: expected an object with exactly 'speaker' and 'text'")
        elif turn["speaker"] not in SPEAKERS:
            errors.append(f"turns[{i}].speaker: expected 'A' or 'B', got {turn['speaker']!r}")
        elif not isinstance(turn["text"], str):
            errors.append(f"turns[{i}].text: expected string")
    meta = row["metadata"]
    for name, typ in METADATA_FIELDS.items():
        if name not in meta:
            errors.append(f"metadata.{name}: missing")
        elif not _check_type(meta[name], typ):
            errors.append(f"metadata.{name}: expected {_type_name(typ)}, got {type(meta[name]).__name__}")
    for name, types, what in _PLAIN_META_LISTS:
        value = meta.get(name)
        if isinstance(value, list) and not all(type(x) in types for x in value):
            errors.append(f"metadata.{name}: expected a list of {what}")
    if isinstance(meta.get("sampling"), dict):
        for step in STEPS:
            errors += _struct_errors(
                meta["sampling"].get(step), SAMPLING_FIELDS, f"metadata.sampling.{step}", "missing"
            )
    if isinstance(meta.get("step_attempts"), dict):
        errors += _struct_errors(
            meta["step_attempts"], dict.fromkeys(STEPS, int), "metadata.step_attempts", ""
        )
    rejected = meta.get("rejected_outputs")
    for i, entry in enumerate(rejected if isinstance(rejected, list) else []):
        errors += _struct_errors(
            entry, REJECTION_FIELDS, f"metadata.rejected_outputs[{i}]", "expected an object"
        )
    if language is not None and row["language"] != language:
        errors.append(language_problem(row, language))
    return errors


def _struct_errors(value, fields: dict[str, Any], where: str, not_a_dict: str) -> list[str]:
    """Problems of a nested object whose fields all have plain types (``where`` names it in messages)."""
    if not isinstance(value, dict):
        return [f"{where}: {not_a_dict}"]
    return [
        f"{where}.{name}: expected {_type_name(typ)}"
        for name, typ in fields.items()
        if name not in value or not _check_type(value[name], typ)
    ]


def example_row(language: str = "fr", index: int = 0, turns: list[tuple[str, str]] | None = None) -> dict:
    """A valid row for tests and docs (content is illustrative, not generated)."""
    persona_a = ["J'habite à Lyon.", "Je suis boulanger.", "J'adore le vélo."]
    persona_b = ["Je suis étudiante à Lille.", "J'ai un chat qui s'appelle Moka."]
    turns = turns or [("A", "Salut ! Tu viens souvent à ce marché ?"), ("B", "Oui, tous les samedis matin.")]
    sampling = {
        s: {
            "temperature": 0.8,
            "top_p": 0.95,
            "max_tokens": 256,
            "repetition_penalty": 1.0,
            "frequency_penalty": 0.0,
            "presence_penalty": 0.0,
        }
        for s in STEPS
    }
    return {
        "id": make_row_id(language, index),
        "language": language,
        "speech_event": "small_talk",
        "persona_a": persona_a,
        "persona_b": persona_b,
        "common_ground": "Deux inconnus se rencontrent au marché de la Croix-Rousse un samedi matin.",
        "turns": [{"speaker": s, "text": t} for s, t in turns],
        "split_group": split_group_for(language, persona_a, persona_b),
        "metadata": {
            "generator_model": "example-model",
            "backend": "openai",
            "prompt_version": "moud-prompts-v1",
            "library_version": "0.1.0",
            "run_fingerprint": "0" * 16,
            "seed": 0,
            "dialogue_seed": 0,
            "first_speaker": turns[0][0],
            "persona_a_categories": ["places_lived/current city"],
            "persona_b_categories": ["pets/cat"],
            "sampling": sampling,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "num_requests": 0,
            "generation_seconds": 0.0,
            "stop_reason": "max_turns",
            "inline_gates": True,
            "step_attempts": dict.fromkeys(STEPS, 0),
            "rejected_outputs": [],
            "reasoning_tokens": 0,
            "lid_scores": [],
        },
    }
