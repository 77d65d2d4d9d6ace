"""Instant loopback servers in their own processes, for benchmarks that measure the client: the scripted
crowdworker (native text per language), or one fixed answer."""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path


def _serve(port_queue, stop_event, max_seconds: float, answer: str | None, model: str) -> None:
    from generation.testing.crowdworker import ScriptedCrowdworker
    from generation.testing.fake_openai import FakeOpenAIServer

    responder = ScriptedCrowdworker() if answer is None else (lambda body: answer)
    server = FakeOpenAIServer(responder, model=model, log_requests=False, max_seconds=max_seconds).start()
    port_queue.put(server.port)
    stop_event.wait(max_seconds)
    server.stop()


def start_servers(n: int, max_seconds: float = 1800, answer: str | None = None, model: str = "bench"):
    """``n`` servers serving ``model``, each in a spawned process, answering as the scripted crowdworker or
    always ``answer``. Returns (stop event, processes, base URLs): set the event and join the processes."""
    ctx = mp.get_context("spawn")
    stop, queue = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_serve, args=(queue, stop, max_seconds, answer, model), daemon=True)
        for _ in range(n)
    ]
    for p in procs:
        p.start()
    ports = [queue.get(timeout=60) for _ in procs]
    return stop, procs, [f"http://127.0.0.1:{port}/v1" for port in ports]


def cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU seconds of processes (Linux /proc), or None where unavailable."""
    try:
        total = 0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
