"""The review web app (aiohttp): a static page and a small JSON API, one rater per access token.

Authentication: the rater's link carries the token in the URL fragment (``/#TOKEN``), which browsers
never send to a server, so it appears in no request line or log; the page sends it as
``Authorization: Bearer TOKEN``. ``POST /api/session`` returns a per-session token that every other POST
must carry in ``X-Review-Session`` (sessions live in SQLite and survive a restart). A rater reaches only
the items assigned to them, by their position in their own queue; no route takes a rater id. Every
response, errors included, carries a strict Content-Security-Policy (scripts from this server only), and
the page writes dataset text with ``textContent``, so text is never markup. The access log is off.

Routes: ``GET /`` (page), ``GET /static/*``, ``GET /api/me``, ``POST /api/session``,
``GET /api/items/{index}``, ``POST /api/ratings`` ``{item_id, criterion, score}``,
``POST /api/marks`` ``{item_id, mark: skip | not_my_language | null}`` (answers the scores the mark now
hides, or those that removing it brought back: a mark never deletes scores).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from aiohttp import web

from eval.review import views
from eval.review.batched_store import BatchedStore
from eval.review.folder import ReviewFolder, hash_token
from eval.review.store import MARKS, Store
from moud_core.taxonomy import load_speech_events

STATIC = Path(__file__).parent / "static"
SESSION_HEADER = "X-Review-Session"
MAX_BODY = 64 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
FOLDER_KEY = web.AppKey("review_folder", ReviewFolder)
APP_KEY = web.AppKey("review_app", object)


def _error(exc: type[web.HTTPException], message: str) -> web.HTTPException:
    return exc(text=json.dumps({"error": message}), content_type="application/json")


class ReviewApp:
    """Request handlers over one review folder and its store (``BatchedStore``: one SQLite thread, batched
    commits, a request answered once its change is committed). Progress comes from an in-memory mirror of
    each rater's scored criteria and marks, loaded at start and updated after commits."""

    def __init__(self, folder: ReviewFolder):
        self.folder = folder
        self.criteria = {c.name: c for c in folder.criteria}
        self.positions = {
            r: {item: i for i, item in enumerate(rater.items)} for r, rater in folder.raters.items()
        }
        self.events = {e.id: e for e in load_speech_events()}
        self.sessions: dict[str, str] = {}
        self.scored: dict[str, dict[str, set[str]]] = {r: {} for r in folder.raters}
        self.marks: dict[str, dict[str, str]] = {r: {} for r in folder.raters}
        self.store: BatchedStore | None = None

    async def open(self, _app=None) -> None:
        self.store = BatchedStore(self.folder.db_path)
        ratings, marks = await self.store.open()
        for item_id, rater, criterion, _ in ratings:
            if item_id in self.positions.get(rater, ()):
                self.scored[rater].setdefault(item_id, set()).add(criterion)
        for item_id, rater, mark in marks:
            if item_id in self.positions.get(rater, ()):
                self.marks[rater][item_id] = mark

    async def close(self, _app=None) -> None:
        if self.store is not None:
            await self.store.close()
            self.store = None

    # --- authentication -------------------------------------------------------------------------------
    def rater(self, request: web.Request):
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        rater_id = self.folder.by_token.get(hash_token(token)) if token else None
        if rater_id is None:
            raise _error(web.HTTPForbidden, "missing or unknown access token")
        return self.folder.raters[rater_id]

    async def check_session(self, request: web.Request, rater) -> None:
        token = request.headers.get(SESSION_HEADER, "").strip()
        if not token:
            raise _error(web.HTTPForbidden, f"missing {SESSION_HEADER} header")
        digest = hash_token(token)
        owner = self.sessions.get(digest)
        if owner is None:
            owner = await self.store.call("session_rater", digest)
            if owner is not None:
                self.sessions[digest] = owner
        if owner != rater.id:
            raise _error(web.HTTPForbidden, "unknown session")

    async def body(self, request: web.Request) -> dict:
        try:
            data = await request.json()
        except (ValueError, UnicodeDecodeError, LookupError):  # LookupError: an unknown charset
            raise _error(web.HTTPBadRequest, "expected a JSON object in UTF-8") from None
        except RecursionError:
            raise _error(web.HTTPBadRequest, "expected a JSON object (nested too deep)") from None
        if not isinstance(data, dict):
            raise _error(web.HTTPBadRequest, "expected a JSON object")
        return data

    def assigned(self, rater, item_id) -> str:
        if not isinstance(item_id, str) or item_id not in self.positions[rater.id]:
            raise _error(web.HTTPForbidden, "item not assigned to this rater")
        return item_id

    # --- views ----------------------------------------------------------------------------------------
    def progress(self, rater) -> dict:
        return views.progress(rater.items, self.scored[rater.id], self.marks[rater.id], len(self.criteria))

    async def me(self, request: web.Request) -> web.Response:
        rater = self.rater(request)
        return web.json_response(
            {
                "rater": rater.id,
                "language": views.language(rater.language),
                "criteria": views.criteria(self.folder),
                "marks": list(MARKS),
                "progress": self.progress(rater),
            }
        )

    async def new_session(self, request: web.Request) -> web.Response:
        rater = self.rater(request)
        token = secrets.token_urlsafe(24)
        await self.store.commit(Store.session_change(hash_token(token), rater.id))
        self.sessions[hash_token(token)] = rater.id
        return web.json_response({"session": token})

    async def item(self, request: web.Request) -> web.Response:
        rater = self.rater(request)
        try:
            index = int(request.match_info["index"])
        except ValueError:
            raise _error(web.HTTPNotFound, "no such item") from None
        if not 0 <= index < len(rater.items):
            raise _error(web.HTTPNotFound, "no such item")
        rec = self.folder.items[rater.items[index]]
        scores, mark, kept = await self.store.call("item_view", rater.id, rec["item_id"])
        return web.json_response(
            {
                "index": index,
                "total": len(rater.items),
                "scores": scores,
                "mark": mark,
                "kept": kept,
                "item": views.item(rec, self.events.get(rec["speech_event"])),
            }
        )

    async def rate(self, request: web.Request) -> web.Response:
        rater = self.rater(request)
        await self.check_session(request, rater)
        data = await self.body(request)
        item_id = self.assigned(rater, data.get("item_id"))
        criterion = (
            self.criteria.get(data.get("criterion")) if isinstance(data.get("criterion"), str) else None
        )
        if criterion is None:
            raise _error(web.HTTPBadRequest, f"unknown criterion; expected one of {', '.join(self.criteria)}")
        score = data.get("score")
        if type(score) is not int or score not in criterion.scale:
            raise _error(
                web.HTTPBadRequest, f"score must be an integer {min(criterion.scale)}-{max(criterion.scale)}"
            )
        await self.store.commit(Store.score_change(rater.id, item_id, criterion.name, score))
        self.scored[rater.id].setdefault(item_id, set()).add(criterion.name)
        self.marks[rater.id].pop(item_id, None)
        return web.json_response({"ok": True, "progress": self.progress(rater)})

    async def mark(self, request: web.Request) -> web.Response:
        rater = self.rater(request)
        await self.check_session(request, rater)
        data = await self.body(request)
        item_id = self.assigned(rater, data.get("item_id"))
        mark = data.get("mark")
        if mark is not None and mark not in MARKS:
            raise _error(web.HTTPBadRequest, f"mark must be one of {', '.join(MARKS)} or null")
        await self.store.commit(Store.mark_change(rater.id, item_id, mark))
        if mark is None:  # the scores the mark hid count again
            scores, _ = await self.store.call("item_state", rater.id, item_id)
            self.marks[rater.id].pop(item_id, None)
            self.scored[rater.id][item_id] = set(scores)
        else:
            scores = await self.store.call("kept_scores", rater.id, item_id)
            self.marks[rater.id][item_id] = mark
            self.scored[rater.id].pop(item_id, None)
        return web.json_response({"ok": True, "scores": scores, "progress": self.progress(rater)})

    async def page(self, _request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")
