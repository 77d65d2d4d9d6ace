"""The three records a run folder holds, each built in one place: a dialogue row (``shards/``), a failed
dialogue (``failures/``) and a dropped row (``drops/``), and the entries of ``rejected_outputs`` (in a row's
metadata or a failure record). Drop lines and rejections are built from the one verdict, ``Drop``. Field
meanings: moud_core/schema.py and docs/DEVELOPING.md."""

from __future__ import annotations

from moud_core.drop import Drop
from moud_core.jsonl import dumps_line
from moud_core.schema import METADATA_FIELDS, make_row_id, split_group_for

# Failure reasons that say nothing about the dialogue itself: the backend or server failed. A re-run
# retries these; every other failure (unusable or rejected model output) is final unless --retry-failed.
BACKEND_FAILURE_REASONS = frozenset(
    {
        "rate_limited",
        "server_error",
        "timeout",
        "connection_error",
        "bad_response",
        "client_error",
        "backend_error",
        "generation_error",
        "unexpected_error",
    }
)


def dialogue_row(
    *,
    language: str,
    index: int,
    speech_event: str,
    persona_a: list[str],
    persona_b: list[str],
    common_ground: str,
    turns: list[dict],
    metadata: dict,
) -> dict:
    """A row of ``shards/<lang>/``: id and split group derived, every metadata field present."""
    missing = [k for k in METADATA_FIELDS if k not in metadata]
    if missing:
        raise ValueError(f"dialogue_row: metadata lacks {', '.join(missing)}")
    return {
        "id": make_row_id(language, index),
        "language": language,
        "speech_event": speech_event,
        "persona_a": persona_a,
        "persona_b": persona_b,
        "common_ground": common_ground,
        "turns": turns,
        "split_group": split_group_for(language, persona_a, persona_b),
        "metadata": metadata,
    }


def failure_record(
    *, language: str, index: int, step: str, reason: str, detail: str = "", **provenance
) -> dict:
    """A line of ``failures/<lang>/``: the dialogue that could not be made, the step and why. ``retryable``
    says whether a re-run tries it again by itself (backend failures) or only with ``--retry-failed``."""
    return {
        "id": make_row_id(language, index),
        "language": language,
        "index": index,
        "step": step,
        "reason": reason,
        "detail": detail,
        "retryable": reason in BACKEND_FAILURE_REASONS,
        **provenance,
    }


def is_retryable(failure: dict) -> bool:
    """Whether a failure record is a backend failure (older records without ``retryable`` are judged by
    their reason)."""
    value = failure.get("retryable")
    return bool(value) if value is not None else failure.get("reason") in BACKEND_FAILURE_REASONS


def drop_record(row: dict | None, drop: Drop) -> dict:
    """A line of ``drops/<lang>/``: the row (None for an unreadable line), the gate that dropped it, why,
    and the scores that decided."""
    return {"row": row, "gate": drop.gate, "reason": drop.reason, "scores": drop.scores}


def drop_line(row_line: str, drop: Drop) -> str:
    """``dumps_line(drop_record(row, drop))`` built around the row's already serialized line (same text)."""
    return (
        f'{{"row":{row_line},"gate":{dumps_line(drop.gate)},"reason":{dumps_line(drop.reason)},'
        f'"scores":{dumps_line(drop.scores)}}}'
    )


def schema_drop(row: dict | None, problem: str, line: int) -> dict:
    """The drop record of a line that is not a valid row (``moud filter --skip-invalid``)."""
    return drop_record(row, Drop("schema", problem, {"line": line}))


def rejection_record(step: str, field: str, attempt: int, drop: Drop, action: str) -> dict:
    """An entry of ``rejected_outputs`` (``schema.REJECTION_FIELDS``, in that order): the output of ``step``
    for ``field`` (``persona_a``, ``common_ground``, ``turns[3]``) at ``attempt``, the verdict on it, and
    what followed (``action``: regenerated, stopped, failed or trimmed)."""
    return {
        "step": step,
        "field": field,
        "attempt": attempt,
        "gate": drop.gate,
        "reason": drop.reason,
        "action": action,
    }
