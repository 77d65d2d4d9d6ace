"""Serving the review app: routes, security headers, and the server loop that stops cleanly on
SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys

from aiohttp import web

from eval.review.folder import ReviewFolder
from eval.review.server import APP_KEY, MAX_BODY, SECURITY_HEADERS, STATIC, ReviewApp
from moud_core.errors import MoudError
from moud_core.loopback import LOOPBACK


@web.middleware
async def security_headers(request: web.Request, handler):
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(SECURITY_HEADERS)
        raise
    response.headers.update(SECURITY_HEADERS)
    return response


def install(app: web.Application, folder: ReviewFolder) -> ReviewApp:
    """Add the review routes, the store's start-up and clean-up, and the security headers to ``app``."""
    review = ReviewApp(folder)
    app[APP_KEY] = review
    app.middlewares.append(security_headers)
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


async def serve(
    folder: ReviewFolder, host: str = "127.0.0.1", port: int = 8765, max_seconds: float | None = None
) -> int:
    """Serve until SIGINT (returns 130), SIGTERM (143) or ``max_seconds`` (0); the store is closed cleanly."""
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
    shown = f"[{host}]" if ":" in host else host
    if host not in LOOPBACK:
        print(
            f"moud review: note: listening on {host}, reachable from other machines over plain HTTP; "
            "tokens travel in request headers, so put an HTTPS reverse proxy in front",
            file=sys.stderr,
        )
    print(
        f"moud review: serving {len(folder.items)} item(s) to {len(folder.raters)} rater(s) on "
        f"http://{shown}:{port}/ ; each rater opens http://{shown}:{port}/#TOKEN with their token from "
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
