"""One forked helper process that an asyncio event loop calls without threads.

``forked_worker(target)`` forks a process that runs ``target(*args)`` for every ``call(*args)``: the arguments
and the answer travel as length-prefixed pickles over a socketpair that the event loop reads like any other
socket. Nothing is pickled but the arguments and answers: ``target`` (and whatever it closes over) is
inherited through fork. For a cheap call made thousands of times a second this is much lighter than
``ProcessPoolExecutor``, whose feeder and manager threads take the GIL and wake the loop from another thread
for every call.

The worker never outlives the command: it ignores SIGINT (Ctrl-C reaches the whole process group; the parent
decides), ends when its socket closes or its parent dies, however it died, and is killed when the block is
left by an exception. A worker that dies fails every pending call with ``WorkerDied``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import socket
import struct
import time
from collections import deque
from collections.abc import AsyncIterator, Callable

from moud_core.workers import die_with_parent, signals_held, take_stop_signals

_HEADER = struct.Struct("!I")
_PROTOCOL = pickle.HIGHEST_PROTOCOL


class WorkerDied(Exception):
    """The worker process ended while calls were pending (killed, out of memory)."""


class ForkedWorker:
    """The parent's side: ``call(*args)`` returns a future of ``target(*args)``'s result (or its exception),
    answered in call order."""

    def __init__(self, pid: int, transport: asyncio.Transport, answers: _Answers):
        self.pid, self._transport, self._answers = pid, transport, answers

    def call(self, *args) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        if self._answers.lost:
            future.set_exception(WorkerDied(f"worker process {self.pid} ended"))
            return future
        payload = pickle.dumps(args, _PROTOCOL)
        self._answers.waiting.append(future)
        self._transport.write(_HEADER.pack(len(payload)) + payload)
        return future


class _Answers(asyncio.Protocol):
    """Reads the worker's answer frames and settles the pending futures in order."""

    def __init__(self, pid: int):
        self.pid = pid
        self.waiting: deque[asyncio.Future] = deque()
        self.lost = False
        self.closed = asyncio.get_running_loop().create_future()
        self._buf = bytearray()

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        while len(buf) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(buf)
            end = _HEADER.size + size
            if len(buf) < end:
                return
            ok, value = pickle.loads(memoryview(buf)[_HEADER.size : end])
            del buf[:end]
            future = self.waiting.popleft()
            if not future.done():  # a cancelled caller waits no more
                future.set_result(value) if ok else future.set_exception(value)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost = True
        if not self.closed.done():
            self.closed.set_result(None)
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(WorkerDied(f"worker process {self.pid} ended"))


@contextlib.asynccontextmanager
async def forked_worker(target: Callable) -> AsyncIterator[ForkedWorker]:
    """Fork a worker running ``target`` for this block. Fork only while this process has one thread."""
    parent_end, child_end = socket.socketpair()
    parent, pid, transport = os.getpid(), 0, None
    try:
        with signals_held():  # held until ``pid`` is known: a worker is never left behind unknown
            pid = os.fork()
            if pid == 0:  # the worker: never returns into the parent's code
                status = 1
                try:
                    signal.signal(signal.SIGINT, signal.SIG_IGN)
                    signal.signal(signal.SIGTERM, signal.SIG_DFL)
                    take_stop_signals()
                    parent_end.close()
                    die_with_parent(parent)
                    _serve(child_end, target)
                    status = 0
                finally:
                    os._exit(status)
        child_end.close()
        parent_end.setblocking(False)
        answers = _Answers(pid)
        transport, _ = await asyncio.get_running_loop().create_unix_connection(
            lambda: answers, sock=parent_end
        )
        yield ForkedWorker(pid, transport, answers)
    except BaseException:
        child_end.close()
        if transport is not None:
            transport.abort()  # closes parent_end
        else:
            parent_end.close()
        if pid:
            _stop(pid, signal.SIGTERM)  # held back until its handler is the default one: it ends at once
        raise
    transport.close()  # the worker reads the end of its socket and exits
    try:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(answers.closed), 5)
    finally:
        _stop(pid, None if answers.closed.done() else signal.SIGTERM)


def _serve(sock: socket.socket, target: Callable) -> None:
    """The worker's loop: answer each request frame until the socket closes."""
    with contextlib.suppress(ValueError, OSError):
        signal.set_wakeup_fd(-1)  # the parent's event loop's wake-up pipe is not ours
    sock.setblocking(True)
    rfile = sock.makefile("rb")
    while True:
        head = rfile.read(_HEADER.size)
        if len(head) < _HEADER.size:
            return
        payload = rfile.read(_HEADER.unpack(head)[0])
        try:
            answer = (True, target(*pickle.loads(payload)))
        except Exception as exc:  # sent to the caller, who raises it
            answer = (False, _picklable(exc))
        try:
            data = pickle.dumps(answer, _PROTOCOL)
        except Exception as exc:
            data = pickle.dumps((False, _picklable(exc)), _PROTOCOL)
        try:
            sock.sendall(_HEADER.pack(len(data)) + data)
        except OSError:  # the parent is gone
            return


def _picklable(exc: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(exc, _PROTOCOL))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _stop(pid: int, signum: int | None, grace: float = 5.0) -> None:
    """Reap the worker: ``signum`` first (None: it is already ending), SIGKILL after ``grace`` seconds."""
    if signum is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
    deadline = time.monotonic() + grace
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = float("inf")
        time.sleep(0.005)
