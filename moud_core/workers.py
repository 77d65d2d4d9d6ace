"""Worker processes that never outlive the command: ``process_pool`` kills them when the block fails or
is interrupted (SIGINT/SIGTERM reach the parent, which unwinds; the workers ignore SIGINT themselves)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor


def _start_worker(initializer: Callable | None, initargs: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent's terminate() ends a worker at once
    if initializer is not None:
        initializer(*initargs)


@contextlib.contextmanager
def process_pool(
    workers: int, initializer: Callable | None = None, initargs: tuple = (), mp_context=None
) -> Iterator[ProcessPoolExecutor]:
    pool = ProcessPoolExecutor(
        workers, mp_context=mp_context, initializer=_start_worker, initargs=(initializer, initargs)
    )
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
