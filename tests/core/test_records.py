"""Records of a run folder: one constructor each, and the fast drop line equals the record's JSON."""

from __future__ import annotations

import json

import pytest

from moud_core.drop import Drop
from moud_core.jsonl import dumps_line
from moud_core.records import (
    dialogue_row,
    drop_line,
    drop_record,
    failure_record,
    is_retryable,
    rejection_record,
    schema_drop,
)
from moud_core.schema import REJECTION_FIELDS, example_row, validate_row


def test_drop_line_is_the_serialized_record():
    row = example_row("ja")
    scores = {"field": "turns[2]", "target_prob": 0, "top": [["zh", 0.91], ["ja", 0.0312]]}
    reason = "turns[2]: ja not in top-3 \"quoted\" 'x' ✓"
    drop = Drop("lid", reason, scores)
    line = drop_line(dumps_line(row), drop)
    assert line == json.dumps(drop_record(row, drop), ensure_ascii=False, separators=(",", ":"))
    assert json.loads(line) == {"row": row, "gate": "lid", "reason": reason, "scores": scores}
    assert list(schema_drop(None, "bad line", 3).items()) == [
        ("row", None),
        ("gate", "schema"),
        ("reason", "bad line"),
        ("scores", {"line": 3}),
    ]


def test_one_verdict_makes_the_drop_line_and_the_rejection():
    drop = Drop("leakage", "turns[3]: role label 'A:'", {"field": "turns[3]", "kind": "speaker_label"})
    assert drop.field == "turns[3]" and Drop("length", "2 turns", {"turns": 2}).field is None
    more = drop.with_scores(failed=2)
    assert list(more.scores) == ["field", "kind", "failed"] and "failed" not in drop.scores
    with pytest.raises(AttributeError):
        drop.gate = "lid"  # frozen: what was decided is what is written
    rec = rejection_record("dialogue", "turns[3]", 1, drop, "regenerated")
    assert list(rec) == list(REJECTION_FIELDS)
    assert rec == {
        "step": "dialogue",
        "field": "turns[3]",
        "attempt": 1,
        "gate": "leakage",
        "reason": "turns[3]: role label 'A:'",
        "action": "regenerated",
    }


def test_dialogue_row_derives_id_and_split_group_and_needs_every_metadata_field():
    ex = example_row("fr", 7)
    parts = {
        k: ex[k] for k in ("speech_event", "persona_a", "persona_b", "common_ground", "turns", "metadata")
    }
    row = dialogue_row(language="fr", index=7, **parts)
    assert row == ex and validate_row(row) == []
    swapped = dialogue_row(
        language="fr", index=8, **{**parts, "persona_a": ex["persona_b"], "persona_b": ex["persona_a"]}
    )
    assert swapped["split_group"] == row["split_group"]  # the same persona pair in any order
    meta = dict(ex["metadata"])
    del meta["seed"]
    with pytest.raises(ValueError, match="seed"):
        dialogue_row(language="fr", index=7, **{**parts, "metadata": meta})


@pytest.mark.parametrize(
    ("reason", "retryable"),
    [
        ("server_error", True),
        ("timeout", True),
        ("connection_error", True),
        ("too_few_sentences", False),
        ("loop_turn", False),
    ],
)
def test_failures_know_whether_a_rerun_retries_them(reason, retryable):
    rec = failure_record(language="fr", index=3, step="persona", reason=reason, detail="x")
    assert rec["id"] == "fr-0000003" and rec["retryable"] is retryable and is_retryable(rec) is retryable
    old = {k: v for k, v in rec.items() if k != "retryable"}  # records written before the field existed
    assert is_retryable(old) is retryable
