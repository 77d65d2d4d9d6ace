"""Worker processes that never outlive the command: ``process_pool`` kills them when the block fails or
is interrupted (SIGINT/SIGTERM reach the parent, which unwinds; the workers ignore SIGINT themselves), and on
Linux the kernel kills them when their parent dies, however it died (``die_with_parent``): a worker the
pool lost track of, or whose parent was SIGKILLed, would otherwise wait for work forever.

SIGINT and SIGTERM are also held back in the main thread while a worker is started and registered with its
pool: a signal handled in between unwinds before the pool knows the worker. That narrows the window but cannot
close it: a signal taken by another thread (numpy's BLAS threads, say) still runs the Python handler in the
main thread at once, which is why workers also die with their parent. The workers start with the signals
held back and take them once their own handlers are set."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor

_STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait (and are then handled) until the block ends; where signals cannot be masked
    (no ``pthread_sigmask``, not the main thread) nothing changes."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def die_with_parent(parent: int) -> None:
    """In a worker: have the kernel SIGKILL this process when ``parent`` (the process, and the thread, that
    started it) dies (Linux ``PR_SET_PDEATHSIG``; elsewhere nothing changes). Exits at once when the
    parent died before this took effect."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:
        os._exit(1)


def take_stop_signals() -> None:
    """In a worker whose handlers are set: take the SIGINT/SIGTERM held back while it started."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


class _Pool(ProcessPoolExecutor):
    def _spawn_process(self):  # Python >= 3.11 starts every worker here
        with signals_held():
            super()._spawn_process()


def _start_worker(parent: int, initializer: Callable | None, initargs: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent's terminate() ends a worker at once
    take_stop_signals()  # held back while this worker started
    die_with_parent(parent)
    if initializer is not None:
        initializer(*initargs)


@contextlib.contextmanager
def process_pool(
    workers: int, initializer: Callable | None = None, initargs: tuple = (), mp_context=None
) -> Iterator[ProcessPoolExecutor]:
    started_by = (os.getpid(), initializer, initargs)
    pool = _Pool(workers, mp_context=mp_context, initializer=_start_worker, initargs=started_by)
    try:
        yield pool
    except BaseException:
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            proc.terminate()
        for proc in processes:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
        raise
    pool.shutdown(wait=True)
