"""Serving the review app: routes, security headers on every response (errors included), one server per
review folder (a lock that dies with the process), the rater link, and the server loop that stops cleanly
on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import socket
import sys
from contextlib import contextmanager

from aiohttp import web

from eval.review.folder import ReviewFolder
from eval.review.server import APP_KEY, MAX_BODY, SECURITY_HEADERS, STATIC, ReviewApp
from moud_core.errors import MoudError
from moud_core.loopback import LOOPBACK

LOCK = "serve.lock"
WILDCARD = ("0.0.0.0", "::", "")


async def security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    """On every response the app prepares: pages, files, API answers, 4xx and 500 alike."""
    response.headers.update(SECURITY_HEADERS)


def install(app: web.Application, folder: ReviewFolder) -> ReviewApp:
    """Add the review routes, the store's start-up and clean-up, and the security headers to ``app``."""
    review = ReviewApp(folder)
    app[APP_KEY] = review
    app.on_response_prepare.append(security_headers)
    app.on_startup.append(review.open)
    app.on_cleanup.append(review.close)
    app.router.add_get("/", review.page)
    app.router.add_get("/favicon.ico", lambda _request: web.Response(status=204))
    app.router.add_static("/static", STATIC, show_index=False, follow_symlinks=False)
    app.router.add_get("/api/me", review.me)
    app.router.add_post("/api/session", review.new_session)
    app.router.add_get("/api/items/{index}", review.item)
    app.router.add_post("/api/ratings", review.rate)
    app.router.add_post("/api/marks", review.mark)
    return review


def make_app(folder: ReviewFolder) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    install(app, folder)
    return app


@contextmanager
def serving_lock(folder: ReviewFolder):
    """Hold ``FOLDER/serve.lock`` (flock, released when the process ends however it ends); a second
    ``serve`` on the same folder is a one-line error, so no page shows progress that another server
    changes."""
    path = folder.path / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise MoudError(f"{path}: cannot create the serve lock ({exc.strerror or exc})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
            raise MoudError(
                f"{folder.path}: already served by another `moud review serve` (pid {holder}); "
                "stop it first, or open its link"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def rater_hosts(host: str) -> list[str]:
    """Hosts to put in the rater link: a wildcard address is not one a rater can open, so this machine's
    name, then its non-loopback addresses (IPv4) when its name resolves to some."""
    if host not in WILDCARD:
        return [f"[{host}]" if ":" in host else host]
    name = socket.gethostname()
    try:
        found = {a[4][0] for a in socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)}
    except OSError:
        found = set()
    return [name, *sorted(a for a in found if not a.startswith("127."))]


async def serve(
    folder: ReviewFolder, host: str = "127.0.0.1", port: int = 8765, max_seconds: float | None = None
) -> int:
    """Serve until SIGINT (returns 130), SIGTERM (143) or ``max_seconds`` (0); the store is closed cleanly."""
    with serving_lock(folder):
        return await _serve(folder, host, port, max_seconds)


async def _serve(folder: ReviewFolder, host: str, port: int, max_seconds: float | None) -> int:
    runner = web.AppRunner(make_app(folder), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise MoudError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    port = site._server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    stop: asyncio.Future = loop.create_future()
    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        loop.add_signal_handler(sig, lambda c=code: stop.done() or stop.set_result(c))
    first, *others = (f"http://{h}:{port}/#TOKEN" for h in rater_hosts(host))
    also = f" (or {', '.join(others)})" if others else ""
    where = (
        first.removesuffix("#TOKEN")
        if host not in WILDCARD
        else f"port {port} of every address ({host or '*'})"
    )
    if host not in LOOPBACK:
        print(
            f"moud review: note: listening on {host}, reachable from other machines over plain HTTP; "
            "tokens travel in request headers, so put an HTTPS reverse proxy in front",
            file=sys.stderr,
        )
    print(
        f"moud review: serving {len(folder.items)} item(s) to {len(folder.raters)} rater(s) on {where} ; "
        f"each rater opens {first}{also} with their token from "
        f"{folder.path / 'tokens.tsv'}",
        file=sys.stderr,
        flush=True,
    )
    try:
        return await asyncio.wait_for(asyncio.shield(stop), max_seconds) if max_seconds else await stop
    except asyncio.TimeoutError:
        return 0
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
