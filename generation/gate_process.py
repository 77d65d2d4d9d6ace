"""The inline gates in a worker process: checking every output costs the event loop's process little more
than sending it, so a second core keeps up with a fast server. The worker is forked with the run's
``TextGates`` already built (nothing is pickled but the outputs and the verdicts), ignores SIGINT and
dies with the command (``moud_core.workers.process_pool``). Verdicts are those of ``check_batch.first_drops``
in this process: the gates and their per-dialogue caches are the same code on the same inputs."""

from __future__ import annotations

import multiprocessing as mp
import os

from generation.check_batch import first_drops

_GATES = None  # the worker's TextGates


def install(gates) -> None:
    """Worker initializer: the TextGates this worker checks with (inherited through fork, not pickled)."""
    global _GATES
    _GATES = gates


def first_drops_in_worker(language: str, outputs: list) -> list[tuple[str, str] | None]:
    return first_drops(_GATES, language, outputs)


def fork_context():
    """The fork start method when this platform has it and two CPUs are available to this process (else
    None: check in the event loop's process)."""
    if "fork" not in mp.get_all_start_methods():
        return None
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return mp.get_context("fork") if cpus >= 2 else None
