"""The SQLite store: idempotent upserts, marks never coexist with scores, durability across reopen."""

from __future__ import annotations

import pytest

from eval.review.store import Store


def test_upserts_marks_and_reopen(tmp_path):
    store = Store(tmp_path / "r.sqlite")

    def put_score(*args):  # one change per transaction, as the server's single requests
        store.apply([Store.score_change(*args)])

    def put_mark(*args):
        store.apply([Store.mark_change(*args)])

    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    for _ in range(2):  # the same rating twice leaves one row
        put_score("fr-r1", "fr-1/dialogue", "fluency", 4)
    put_score("fr-r1", "fr-1/dialogue", "fluency", 5)
    put_score("fr-r1", "fr-1/dialogue", "coherence", 2)
    put_score("fr-r2", "fr-1/dialogue", "fluency", 1)
    assert store.item_state("fr-r1", "fr-1/dialogue") == ({"fluency": 5, "coherence": 2}, None)
    put_mark("fr-r1", "fr-1/dialogue", "not_my_language")  # a mark removes the rater's scores
    assert store.item_state("fr-r1", "fr-1/dialogue") == ({}, "not_my_language")
    assert store.item_state("fr-r2", "fr-1/dialogue") == ({"fluency": 1}, None)  # not another rater's
    put_score("fr-r1", "fr-1/dialogue", "fluency", 3)  # a score clears the mark
    assert store.item_state("fr-r1", "fr-1/dialogue") == ({"fluency": 3}, None)
    put_mark("fr-r1", "fr-2/dialogue", "skip")
    put_mark("fr-r1", "fr-3/dialogue", "skip")
    put_mark("fr-r1", "fr-3/dialogue", None)
    with pytest.raises(ValueError):
        put_mark("fr-r1", "fr-3/dialogue", "bored")
    store.apply([Store.session_change("h1", "fr-r1")])
    store.close()
    store = Store(tmp_path / "r.sqlite")
    assert store.all_ratings() == [
        ("fr-1/dialogue", "fr-r1", "fluency", 3),
        ("fr-1/dialogue", "fr-r2", "fluency", 1),
    ]
    assert store.all_marks() == [("fr-2/dialogue", "fr-r1", "skip")]
    store.apply(
        [
            store.score_change("fr-r3", "fr-4/dialogue", "fluency", 2),  # a batch: one transaction
            store.mark_change("fr-r3", "fr-5/dialogue", "skip"),
        ]
    )
    assert store.item_state("fr-r3", "fr-4/dialogue") == ({"fluency": 2}, None)
    assert store.item_state("fr-r3", "fr-5/dialogue") == ({}, "skip")
    assert store.session_rater("h1") == "fr-r1" and store.session_rater("h2") is None
    store.close()
