"""Ray executor: the selected work units, cut into ``tasks`` groups, run as Ray tasks.

Each task is ``execute_units`` on its group, writing into the shared run folder (which every Ray node
must see, e.g. NFS or a mounted bucket) with its own request cache ``cache-ray-TTTTT-of-NNNNN.sqlite``.
A task whose worker dies (node lost, OOM, SIGKILL) or that raises a transient error (server
unreachable) is retried up to ``max_retries`` times by Ray; because shard files are written atomically
once complete, a retry skips the finished units and re-does the rest, answered from its cache for every
request that had completed. Fatal errors (disk full, bad config) are not retried: the other tasks are
cancelled and the error is raised as one line.
"""

from __future__ import annotations

import time
from dataclasses import asdict

from generation.executors.local import RunSpec, execute_units
from generation.summary import RunSummary
from generation.units import WorkUnit
from moud_core.errors import BackendError, ConfigError, MoudError


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def split_units(units: list[WorkUnit], tasks: int) -> list[list[WorkUnit]]:
    """Deterministic round-robin split into at most ``tasks`` non-empty groups (same input -> same groups,
    so a re-run finds each group's request cache again)."""
    tasks = max(1, min(tasks, len(units)))
    return [units[i::tasks] for i in range(tasks)]


def _task(spec_dict: dict, unit_tuples: list[tuple], before=None) -> dict:
    if before is not None:
        before(spec_dict, unit_tuples)
    spec = RunSpec(**spec_dict)
    units = [WorkUnit(*t) for t in unit_tuples]
    return execute_units(spec, units).to_dict()


def _probe_address(address: str, timeout: float = 5.0) -> None:
    """Fail fast with one line when a HOST:PORT (or ray://HOST:PORT) address does not answer; Ray itself
    would keep retrying for minutes. 'auto' and other forms are left to Ray."""
    import socket
    from urllib.parse import urlsplit

    if address == "auto" or address.startswith("local"):
        return
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or not port:
        raise ConfigError(f"--ray-address {address}: expected 'auto', HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise MoudError(
            f"--ray-address {address}: cannot connect to a Ray cluster ({exc.strerror or exc}); "
            "start one with `ray start --head` or check the address"
        ) from None


class RayExecutor:
    name = "ray"

    """``RayExecutor(address=None, tasks=None, max_retries=3).run(spec, units) -> RunSummary``.

    ``address``: a Ray cluster ("auto", "ray://head:10001"); None starts a local Ray instance for
    this process (``num_cpus`` CPUs). ``tasks``: number of Ray tasks (default: the cluster's CPUs).
    ``before``: optional callable(spec_dict, unit_tuples) run at the start of every task attempt
    (fault injection in tests)."""

    def __init__(
        self,
        address: str | None = None,
        tasks: int | None = None,
        max_retries: int = 3,
        num_cpus: int | None = None,
        progress: bool = True,
        before=None,
        init_kwargs: dict | None = None,
    ):
        if not ray_available():
            raise ConfigError("--executor ray needs Ray: pip install 'moud[ray]' (or pip install 'ray>=2.9')")
        if tasks is not None and tasks < 1:
            raise ConfigError(f"--ray-tasks: expected an integer >= 1 (got {tasks})")
        if max_retries < 0:
            raise ConfigError(f"--ray-max-retries: expected an integer >= 0 (got {max_retries})")
        self.address, self.tasks, self.max_retries = address, tasks, max_retries
        self.num_cpus, self.progress, self.before = num_cpus, progress, before
        self.init_kwargs = dict(init_kwargs or {})
        if address:
            _probe_address(address)

    def _init(self) -> bool:
        """Connect to (or start) Ray; True when this call started it (and must shut it down)."""
        import ray

        if ray.is_initialized():
            return False
        kwargs = {"include_dashboard": False, "log_to_driver": False, **self.init_kwargs}
        if self.address:
            kwargs["address"] = self.address
        elif self.num_cpus:
            kwargs["num_cpus"] = self.num_cpus
        try:
            ray.init(**kwargs)
        except ConnectionError as exc:
            raise MoudError(
                f"--ray-address {self.address}: cannot connect to a Ray cluster "
                f"({' '.join(str(exc).split())[:160]}); start one with `ray start --head`"
            ) from None
        return True

    def run(self, spec: RunSpec, units: list[WorkUnit]) -> RunSummary:
        import ray

        total = RunSummary()
        if not units:
            return total
        t0 = time.perf_counter()
        started = self._init()
        try:
            n = self.tasks or max(1, int(ray.cluster_resources().get("CPU", 1)))
            groups = split_units(units, n)
            remote = ray.remote(
                num_cpus=1,
                max_retries=self.max_retries,
                retry_exceptions=[BackendError, ConnectionError, TimeoutError],
            )(_task)
            refs = {}
            for i, group in enumerate(groups):
                task_spec = asdict(spec)
                task_spec["quiet"] = True
                if spec.cache_file:
                    stem = spec.cache_file.removesuffix(".sqlite")
                    task_spec["cache_file"] = f"{stem}-ray-{i:05d}-of-{len(groups):05d}.sqlite"
                ref = remote.remote(task_spec, [tuple(asdict(u).values()) for u in group], self.before)
                refs[ref] = group
            self._collect(refs, total)
        finally:
            if started:
                ray.shutdown()
        total.wall_seconds = time.perf_counter() - t0
        return total

    def _collect(self, refs: dict, total: RunSummary) -> None:
        import ray
        from ray.exceptions import RayTaskError

        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=sum(u.stop - u.start for g in refs.values() for u in g), desc="ray", unit="dlg")
        pending = list(refs)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    try:
                        total.add(ray.get(ref))
                    except RayTaskError as exc:
                        cause = getattr(exc, "cause", None)
                        if isinstance(cause, MoudError):
                            raise MoudError(str(cause)) from None
                        raise MoudError(
                            f"Ray task failed after {self.max_retries} retries: "
                            f"{type(cause).__name__ if cause else 'error'}: "
                            f"{' '.join(str(cause or exc).split())[:200]}"
                        ) from None
                    except ray.exceptions.RayError as exc:
                        raise MoudError(
                            f"Ray task lost after {self.max_retries} retries: "
                            f"{' '.join(str(exc).split())[:200]}"
                        ) from None
                    if bar is not None:
                        bar.update(sum(u.stop - u.start for u in refs[ref]))
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
        finally:
            if bar is not None:
                bar.close()
