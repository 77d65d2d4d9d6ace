"""The review API: tokens, sessions, rater isolation, validation, escaping and headers (in-thread server)."""

from __future__ import annotations

import json

import pytest

from eval.review.folder import load_review
from eval.review.store import Store
from tests.eval.review.helpers import HOSTILE, Client, ReviewServer, make_review


@pytest.fixture()
def served(tmp_path):
    folder, tokens = make_review(tmp_path, languages=("fr", "sw"), per_language=6, raters=3, hostile=HOSTILE)
    with ReviewServer(folder, max_seconds=120) as server:
        yield server, folder, tokens


def _queue(folder, rater):
    return list(load_review(folder).raters[rater].items)


def test_missing_or_wrong_token_is_403_without_data(served):
    server, _, tokens = served
    for token in (None, "", "not-a-token", tokens["fr-r1"] + "x"):
        client = Client(server.url, token)
        for method, path, body in (
            ("GET", "/api/me", None),
            ("GET", "/api/items/0", None),
            ("POST", "/api/session", None),
            ("POST", "/api/ratings", {"item_id": "fr-0000000/dialogue", "criterion": "fluency", "score": 3}),
        ):
            status, data, _ = client.call(method, path, body)
            assert status == 403 and data == {"error": "missing or unknown access token"}
    status, page, headers = Client(server.url, None).call("GET", "/")
    assert status == 200 and "persona" in page.lower() and "fr-0000" not in page  # the page holds no data
    assert (
        "script-src 'self'" in headers["Content-Security-Policy"] and headers["Cache-Control"] == "no-store"
    )


def test_session_header_required_for_posts(served):
    server, _, tokens = served
    a = Client(server.url, tokens["fr-r1"])
    item = a.item(0)[1]["item"]["item_id"]
    status, data, _ = a.rate(item, "fluency", 3)  # no X-Review-Session
    assert status == 403 and "X-Review-Session" in data["error"]
    status, _, _ = a.call(
        "POST",
        "/api/ratings",
        {"item_id": item, "criterion": "fluency", "score": 3},
        headers={"X-Review-Session": "forged"},
    )
    assert status == 403
    b = Client(server.url, tokens["fr-r2"]).login()
    a.session = b.session  # another rater's session
    assert a.rate(item, "fluency", 3)[0] == 403
    a.login()
    assert a.rate(item, "fluency", 3)[0] == 200


def test_one_rater_cannot_read_or_change_anothers_ratings(served):
    server, folder, tokens = served
    a, b = Client(server.url, tokens["fr-r1"]).login(), Client(server.url, tokens["fr-r2"]).login()
    only_a = [i for i in _queue(folder, "fr-r1") if i not in _queue(folder, "fr-r2")]
    shared = [i for i in _queue(folder, "fr-r1") if i in _queue(folder, "fr-r2")]
    assert only_a and shared
    assert a.rate(only_a[0], "fluency", 5)[0] == 200
    assert a.rate(shared[0], "fluency", 5)[0] == 200
    status, data, _ = b.rate(only_a[0], "fluency", 1)  # not assigned to b
    assert status == 403 and data == {"error": "item not assigned to this rater"}
    assert b.call("POST", "/api/marks", {"item_id": only_a[0], "mark": "skip"})[0] == 403
    assert Client(server.url, tokens["sw-r1"]).login().rate(shared[0], "fluency", 1)[0] == 403
    for index in range(len(_queue(folder, "fr-r2"))):  # b sees only b's own (empty) scores
        status, data, _ = b.item(index)
        assert status == 200 and data["scores"] == {} and data["item"]["item_id"] in _queue(folder, "fr-r2")
    assert b.item(len(_queue(folder, "fr-r2")))[0] == 404 and b.item(-1)[0] == 404
    assert b.call("GET", "/api/items/abc")[0] == 404
    store = Store(folder / "ratings.sqlite")
    assert sorted(store.all_ratings()) == sorted(
        [(only_a[0], "fr-r1", "fluency", 5), (shared[0], "fr-r1", "fluency", 5)]
    )
    store.close()


@pytest.mark.parametrize("score", [0, 6, -1, 3.0, 3.5, "3", True, None, [3]])
def test_score_off_the_scale_is_400(served, score):
    server, folder, tokens = served
    a = Client(server.url, tokens["fr-r1"]).login()
    status, data, _ = a.rate(_queue(folder, "fr-r1")[0], "fluency", score)
    assert status == 400 and data == {"error": "score must be an integer 1-5"}


def test_bad_requests(served):
    server, folder, tokens = served
    a = Client(server.url, tokens["fr-r1"]).login()
    item = _queue(folder, "fr-r1")[0]
    assert a.rate(item, "charm", 3)[0] == 400
    assert a.call("POST", "/api/ratings", raw=b"{not json")[0] == 400
    assert a.call("POST", "/api/ratings", [1, 2])[0] == 400
    assert a.call("POST", "/api/marks", {"item_id": item, "mark": "bored"})[0] == 400
    assert a.call("POST", "/api/ratings", raw=b"x" * (70 * 1024))[0] == 413
    for path in (
        "/static/../review.json",
        "/static/%2e%2e/review.json",
        "/review.json",
        "/tokens.tsv",
        "/static/../../tokens.tsv",
    ):
        status, body, _ = Client(server.url, None).call("GET", path)
        assert status in (403, 404) and "token" not in str(body)


def test_ratings_idempotent_marks_and_progress(served):
    server, folder, tokens = served
    a = Client(server.url, tokens["fr-r1"]).login()
    queue = _queue(folder, "fr-r1")
    criteria = [c["name"] for c in a.call("GET", "/api/me")[1]["criteria"]]
    for name in criteria:
        for _ in range(2):  # submitted twice
            status, data, _ = a.rate(queue[0], name, 4)
            assert status == 200
    assert data["progress"]["rated"] == 1 and data["progress"]["done"] == 1
    assert a.call("POST", "/api/marks", {"item_id": queue[1], "mark": "skip"})[1]["progress"]["skipped"] == 1
    status, data, _ = a.call("POST", "/api/marks", {"item_id": queue[2], "mark": "not_my_language"})
    assert data["progress"] == {
        "total": len(queue),
        "done": 3,
        "rated": 1,
        "skipped": 1,
        "not_my_language": 1,
        "partly_rated": 0,
        "first_open": 3,
    }
    status, data, _ = a.item(1)
    assert data["mark"] == "skip" and data["scores"] == {}
    store = Store(folder / "ratings.sqlite")
    assert len(store.all_ratings()) == len(criteria)
    store.close()


def test_dataset_text_is_data_not_markup(served):
    server, folder, tokens = served
    owner = next(r for r in tokens if r.startswith("fr-") and "fr-0000000/dialogue" in _queue(folder, r))
    a = Client(server.url, tokens[owner])
    data = a.item(_queue(folder, owner).index("fr-0000000/dialogue"))[1]
    assert data["item"]["common_ground"] == HOSTILE and data["item"]["turns"][-1]["text"] == HOSTILE
    js = Client(server.url, None).call("GET", "/static/review.js")[1]
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "document.write" not in js


def test_a_mark_keeps_the_scores_and_removing_it_brings_them_back(served):
    server, folder, tokens = served
    a = Client(server.url, tokens["fr-r1"]).login()
    item = _queue(folder, "fr-r1")[0]
    scores = {c["name"]: 1 + n % 5 for n, c in enumerate(a.call("GET", "/api/me")[1]["criteria"])}
    for name, score in scores.items():
        assert a.rate(item, name, score)[0] == 200
    status, data, _ = a.call("POST", "/api/marks", {"item_id": item, "mark": "skip"})
    assert status == 200 and data["scores"] == scores  # the scores the mark hides
    assert (data["progress"]["rated"], data["progress"]["skipped"]) == (0, 1)
    _, data, _ = a.item(0)
    assert (data["scores"], data["mark"], data["kept"]) == ({}, "skip", scores)
    status, data, _ = a.call("POST", "/api/marks", {"item_id": item, "mark": None})
    assert status == 200 and data["scores"] == scores
    assert (data["progress"]["rated"], data["progress"]["skipped"], data["progress"]["done"]) == (1, 0, 1)
    _, data, _ = a.item(0)
    assert (data["scores"], data["mark"], data["kept"]) == (scores, None, {})


def test_malformed_bodies_are_400_and_every_response_has_the_security_headers(served, monkeypatch):
    from eval.review import views
    from eval.review.server import SECURITY_HEADERS

    server, folder, tokens = served
    a = Client(server.url, tokens["fr-r1"]).login()
    item = _queue(folder, "fr-r1")[0]
    body = json.dumps({"item_id": item, "criterion": "fluency", "score": 3}).encode()
    answers = {
        "deep list": a.call("POST", "/api/ratings", raw=b"[" * 30_000 + b"]" * 30_000),
        "deep object": a.call("POST", "/api/marks", raw=b'{"a":' * 10_000 + b"1" + b"}" * 10_000),
        "unknown charset": a.call(
            "POST", "/api/ratings", raw=body, headers={"Content-Type": "application/json; charset=x-nope"}
        ),
        "latin-1 bytes": a.call("POST", "/api/ratings", raw=b'{"item_id": "\xff"}'),
    }
    for what, (status, data, headers) in answers.items():
        assert status == 400 and data["error"].startswith("expected a JSON object"), what
        assert {k: headers.get(k) for k in SECURITY_HEADERS} == SECURITY_HEADERS, what
    monkeypatch.setattr(views, "item", lambda *_: 1 / 0)  # a bug in a handler: 500 without a traceback
    errors = {
        500: a.item(0),
        403: Client(server.url, "wrong").call("GET", "/api/me"),
        404: a.call("GET", "/no/such/page"),
        405: a.call("GET", "/api/ratings"),
        413: a.call("POST", "/api/ratings", raw=b"x" * (70 * 1024)),
        200: Client(server.url, None).call("GET", "/static/review.css"),
    }
    for code, (status, data, headers) in errors.items():
        assert status == code and "Traceback" not in str(data), code
        assert {k: headers.get(k) for k in SECURITY_HEADERS} == SECURITY_HEADERS, code
