"""LoopbackServer: an aiohttp app served from a background thread on 127.0.0.1, with a bounded lifetime.

The base of the test servers (the fake OpenAI endpoint, the stand-in Hub): subclasses add their routes in
``add_routes``; ``start``/``stop`` (or ``with``) run it; ``port`` is picked by the OS unless given."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class LoopbackServer:
    name = "loopback-server"
    client_max_size = 64 * 1024 * 1024

    def __init__(self, host: str = "127.0.0.1", port: int = 0, max_seconds: float = 900.0):
        if host not in LOOPBACK:
            raise ValueError(f"{type(self).__name__} binds loopback only")
        self.host, self.port, self.max_seconds = host, port, max_seconds
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None  # why it could not start (e.g. the port is in use)

    def add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def _serve(self) -> None:
        app = web.Application(client_max_size=self.client_max_size)
        self.add_routes(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self._stop = asyncio.Event()
        self._ready.set()
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=self.max_seconds)  # bounded lifetime
        except asyncio.TimeoutError:
            pass
        finally:
            await runner.cleanup()

    def start(self):
        def target():
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self._serve())
            except BaseException as exc:  # noqa: B036 - re-raised by start() in the caller's thread
                self._error = exc
                self._ready.set()
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=target, name=self.name, daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError(f"{self.name} did not start")
        if self._error is not None:
            self._thread.join(10)
            raise self._error
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self.running:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
