"""The forked worker: answers in call order, exceptions come back, a dead worker fails pending calls, and the
worker never outlives the block (closed, failed or its parent killed)."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from moud_core.forked_worker import WorkerDied, forked_worker

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")

_BIG = "é" * 300_000  # bigger than a socket buffer: arrives in several reads


def _answer(kind: str, value):
    if kind == "echo":
        return value, os.getpid()
    if kind == "raise":
        raise ValueError(f"bad value {value!r}")
    if kind == "unpicklable":
        return lambda: value
    if kind == "sleep":
        time.sleep(value)
        return value
    raise AssertionError(kind)


def _gone(pid: int) -> bool:
    """Ended (a zombie is ended, waiting for whoever adopted it to reap it)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _reaped(pid: int) -> bool:
    """Ended and reaped: our own child leaves no zombie."""
    return not psutil.pid_exists(pid)


def test_calls_are_answered_in_order_by_another_process_and_the_worker_ends_with_the_block():
    async def main():
        async with forked_worker(_answer) as worker:
            answers = await asyncio.gather(*(worker.call("echo", i) for i in range(200)))
            big, _ = await worker.call("echo", _BIG)
            return worker.pid, answers, big

    pid, answers, big = asyncio.run(main())
    assert [value for value, _ in answers] == list(range(200))
    assert {worker_pid for _, worker_pid in answers} == {pid} and pid != os.getpid()
    assert big == _BIG
    assert _reaped(pid)


def test_exceptions_come_back_to_the_caller_and_the_worker_goes_on():
    async def main():
        async with forked_worker(_answer) as worker:
            with pytest.raises(ValueError, match="bad value 3"):
                await worker.call("raise", 3)
            with pytest.raises((AttributeError, TypeError, pickle.PicklingError), match="pickle"):
                await worker.call("unpicklable", 1)
            return await worker.call("echo", "still here")

    assert asyncio.run(main())[0] == "still here"


def test_a_killed_worker_fails_the_pending_and_later_calls():
    async def main():
        async with forked_worker(_answer) as worker:
            pending = worker.call("sleep", 30)
            await asyncio.sleep(0.2)
            os.kill(worker.pid, signal.SIGKILL)
            with pytest.raises(WorkerDied):
                await asyncio.wait_for(pending, 10)
            with pytest.raises(WorkerDied):
                await worker.call("echo", 1)

    asyncio.run(main())


def test_an_error_in_the_block_kills_a_busy_worker_at_once():
    async def main():
        async with forked_worker(_answer) as worker:
            main.pid = worker.pid
            worker.call("sleep", 60)
            await asyncio.sleep(0.2)
            raise KeyError("stop")

    t0 = time.monotonic()
    with pytest.raises(KeyError):
        asyncio.run(main())
    assert time.monotonic() - t0 < 10 and _reaped(main.pid)


def test_the_worker_ignores_sigint_and_ends_when_its_parent_is_killed(tmp_path):
    script = textwrap.dedent(
        """
        import asyncio, os, sys, time
        from moud_core.forked_worker import forked_worker

        def nap(seconds):
            time.sleep(seconds)
            return seconds

        async def main():
            async with forked_worker(nap) as worker:
                print(worker.pid, flush=True)
                await worker.call(60)

        asyncio.run(main())
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    try:
        pid = int(proc.stdout.readline())
        os.kill(pid, signal.SIGINT)  # Ctrl-C reaches the whole group; the worker leaves it to its parent
        time.sleep(0.3)
        assert not _gone(pid)
        proc.kill()  # the parent dies without cleaning up: the worker's socket closes
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while not _gone(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(pid)
    finally:
        proc.kill()


def test_a_signal_right_after_the_fork_leaves_no_worker_behind(tmp_path):
    script = textwrap.dedent(
        """
        import asyncio, ctypes, functools, os, signal, sys
        from moud_core.forked_worker import forked_worker

        def stop(signum, frame):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        pids = open(sys.argv[1], "a")
        os.register_at_fork(  # libc's kill: handled back in forked_worker, right after the fork
            after_in_child=lambda: (pids.write(f"{os.getpid()}\\n"), pids.flush()),
            after_in_parent=functools.partial(ctypes.CDLL(None).kill, os.getpid(), int(signal.SIGTERM)),
        )

        async def main():
            async with forked_worker(abs) as worker:
                await worker.call(-1)

        try:
            asyncio.run(main())
        except KeyboardInterrupt:
            print("interrupted")
        """
    )
    pid_file, out_file = tmp_path / "workers.txt", tmp_path / "out.txt"
    with out_file.open("w") as out:
        proc = subprocess.run([sys.executable, "-c", script, str(pid_file)], stdout=out, timeout=60)
    pids = [int(x) for x in pid_file.read_text().split()]
    assert "interrupted" in out_file.read_text() and proc.returncode == 0
    assert pids and all(_reaped(pid) for pid in pids)
