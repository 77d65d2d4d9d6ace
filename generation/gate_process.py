"""The inline gates in a worker process: checking every output costs the event loop's process little more
than sending it, so a second core keeps up with a fast server. The worker is forked with the run's
``TextGates`` already built (nothing is pickled but the outputs and the verdicts, ``Drop``s) and called from
the event loop without threads (``moud_core.forked_worker``); it dies with the command. Verdicts are those of
``check_batch.first_drops`` in this process: the gates and their per-dialogue caches are the same code on the
same inputs."""

from __future__ import annotations

import functools
import os

from generation.check_batch import first_drops
from moud_core.forked_worker import forked_worker


def gate_worker(gates):
    """``async with gate_worker(gates) as worker``: ``worker.call(language, outputs)`` is a future of
    ``first_drops(gates, language, outputs)`` computed in a forked process."""
    return forked_worker(functools.partial(first_drops, gates))


def can_fork_worker() -> bool:
    """Whether this platform can fork and two CPUs are available to this process (else the gates check in
    the event loop's process)."""
    if not hasattr(os, "fork"):
        return False
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cpus >= 2
