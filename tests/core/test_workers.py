"""process_pool: a signal that arrives while a worker is being started still stops that worker."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "register_at_fork"), reason="needs fork")

# SIGTERM arrives right after each fork, in the parent: before the pool has registered the new worker.
_SCRIPT = textwrap.dedent(
    """
    import ctypes, functools, multiprocessing, os, signal, sys
    from moud_core.workers import process_pool

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    pids = open(sys.argv[1], "a")
    os.register_at_fork(
        after_in_child=lambda: (pids.write(f"{os.getpid()}\\n"), pids.flush()),
        # libc's kill, not os.kill (which handles the signal at once, inside this hook, where Python ignores
        # the exception): the handler then runs back in the pool's code, right after the fork
        after_in_parent=functools.partial(ctypes.CDLL(None).kill, os.getpid(), int(signal.SIGTERM)),
    )
    try:
        with process_pool(2, mp_context=multiprocessing.get_context("fork")) as pool:
            pool.submit(int).result()
    except KeyboardInterrupt:
        print("interrupted")
    """
)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _survivors(pids: list[int], seconds: float = 10) -> list[int]:
    """The ``pids`` still alive after up to ``seconds`` (then killed, so a failing test leaves none)."""
    deadline = time.monotonic() + seconds
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = [p for p in pids if _alive(p)]
    for p in alive:
        psutil.Process(p).kill()
    return alive


def test_a_signal_while_a_worker_starts_leaves_no_worker_behind(tmp_path):
    pid_file, out_file, err_file = tmp_path / "workers.txt", tmp_path / "out.txt", tmp_path / "err.txt"
    with out_file.open("w") as out, err_file.open("w") as err:  # files, not pipes: a stray worker holds them
        proc = subprocess.Popen([sys.executable, "-c", _SCRIPT, str(pid_file)], stdout=out, stderr=err)
        try:
            proc.wait(timeout=60)
            ended = True
        except subprocess.TimeoutExpired:
            proc.kill()
            ended = False
    pids = [int(x) for x in pid_file.read_text().split()] if pid_file.exists() else []
    alive = _survivors(pids)
    assert ended, "the command did not end within 60 s of the signal"
    assert "interrupted" in out_file.read_text(), err_file.read_text()
    assert pids, "no worker was forked"
    assert not alive, f"workers outlived the command: {alive}"


def test_workers_die_with_a_sigkilled_parent(tmp_path):
    script = textwrap.dedent(
        """
        import os, time
        from moud_core.workers import process_pool

        with process_pool(2) as pool:
            pids = {pool.submit(os.getpid).result() for _ in range(20)}
            print(*sorted(pids), flush=True)
            time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(x) for x in proc.stdout.readline().split()]
        assert pids and all(_alive(p) for p in pids)
        proc.kill()  # no clean-up runs in the parent
        proc.wait(timeout=10)
        alive = _survivors(pids)
        assert not alive, f"workers outlived their SIGKILLed parent: {alive}"
    finally:
        proc.kill()
