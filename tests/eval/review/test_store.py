"""The SQLite store: idempotent upserts, marks hide scores (never delete them), durability across reopen,
private files."""

from __future__ import annotations

import os
import stat

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
    put_mark("fr-r1", "fr-1/dialogue", "not_my_language")  # a mark hides the rater's scores
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


def test_a_mark_hides_scores_and_removing_it_brings_them_back(tmp_path):
    store = Store(tmp_path / "r.sqlite")
    item, scores = "fr-1/dialogue", {"fluency": 4, "coherence": 2}
    store.apply([Store.score_change("fr-r1", item, c, s) for c, s in scores.items()])
    for mark in ("skip", "not_my_language"):  # switching marks keeps them too
        store.apply([Store.mark_change("fr-r1", item, mark)])
        assert store.item_state("fr-r1", item) == ({}, mark)
        assert store.kept_scores("fr-r1", item) == scores
        assert store.all_ratings() == []  # a marked item contributes no score
    store.apply([Store.mark_change("fr-r1", item, None)])
    assert store.item_state("fr-r1", item) == (scores, None) and store.kept_scores("fr-r1", item) == {}
    assert sorted(store.all_ratings()) == sorted(("fr-1/dialogue", "fr-r1", c, s) for c, s in scores.items())
    store.close()


def test_database_is_private_whatever_the_umask(tmp_path):
    path = tmp_path / "ratings.sqlite"
    old = os.umask(0o002)
    try:
        store = Store(path)
        store.apply([Store.score_change("fr-r1", "fr-1/dialogue", "fluency", 4)])
        files = [path, tmp_path / "ratings.sqlite-wal", tmp_path / "ratings.sqlite-shm"]
        assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {p.name: 0o600 for p in files}
        store.close()
        path.chmod(0o644)  # a database from an older version is tightened when opened
        Store(path).close()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        os.umask(old)
