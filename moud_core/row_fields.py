"""The fields of a MOUD row (``moud_core.schema`` checks rows against them): their types, the metadata
every row carries, the steps and speakers, and the element type of every list field."""

from __future__ import annotations

from typing import Any

SAMPLING_FIELDS = {
    "temperature": float,
    "top_p": float,
    "max_tokens": int,
    "repetition_penalty": float,
    "frequency_penalty": float,
    "presence_penalty": float,
}

STEPS = ("persona", "common_ground", "dialogue")  # the generation steps; every stage imports them from here

METADATA_FIELDS: dict[str, Any] = {
    "generator_model": str,  # model name/path as given to the backend
    "backend": str,  # openai | transformers | vllm
    "prompt_version": str,  # e.g. "moud-prompts-v1"
    "library_version": str,  # moud package version
    "run_fingerprint": str,  # sha256 prefix of the run config that produced the row
    "seed": int,  # run seed
    "dialogue_seed": int,  # from (run seed, language, index); after --retry-failed: from the failed one
    "first_speaker": str,  # "A" or "B"
    "persona_a_categories": list,  # sampled "category/subcategory" guides
    "persona_b_categories": list,
    "sampling": dict,  # {step: {SAMPLING_FIELDS}} for step in STEPS
    "prompt_tokens": int,
    "completion_tokens": int,
    "num_requests": int,
    "generation_seconds": float,  # wall time spent waiting on the backend for this row
    "stop_reason": str,  # max_turns, or the tag of the rejected turn that ended it after min_turns
    # (rejected_<gate> | truncated | reasoning_only | empty_output | empty | loop)
    "inline_gates": bool,  # every persona sentence, common ground and turn passed the quality gates
    # as it was generated (false with --no-inline-gates)
    "step_attempts": dict,  # {step: requests made} for step in STEPS, rejected outputs included
    "rejected_outputs": list,  # outputs rejected (or trimmed) while generating, REJECTION_FIELDS each
    "reasoning_tokens": int,  # completion tokens spent on reasoning (removed before parsing, never kept)
    "lid_scores": list,  # per-turn probability of the target language (filled by `moud filter`)
}

# One entry of ``metadata.rejected_outputs``: which output (step, field such as "turns[3]" or "persona_a",
# attempt from 0), who rejected it (a quality gate's name, or truncation / reasoning / parse), the reason
# (one line quoting the offending text) and what followed: regenerated | stopped (the dialogue ended there)
# | failed (the step gave up) | trimmed (a truncated output kept up to its last complete sentence).
REJECTION_FIELDS: dict[str, Any] = {
    "step": str,
    "field": str,
    "attempt": int,
    "gate": str,
    "reason": str,
    "action": str,
}

TURN_FIELDS: dict[str, Any] = {"speaker": str, "text": str}
SPEAKERS = ("A", "B")

ROW_FIELDS: dict[str, Any] = {
    "id": str,
    "language": str,
    "speech_event": str,
    "persona_a": list,
    "persona_b": list,
    "common_ground": str,
    "turns": list,
    "split_group": str,
    "metadata": dict,
}

# Element type of every list-valued field, by dotted path: a plain type, or the fields of an object. The
# Parquet schema (moud_dataset/features.py) is derived from it, and validate_row checks it element by element.
LIST_ELEMENTS: dict[str, Any] = {
    "persona_a": str,
    "persona_b": str,
    "turns": TURN_FIELDS,
    "metadata.persona_a_categories": str,
    "metadata.persona_b_categories": str,
    "metadata.lid_scores": float,
    "metadata.rejected_outputs": REJECTION_FIELDS,
}
