"""Run a list of work units in this process: config -> backend (+ request cache) -> GenerationRun.

``RunSpec`` is everything a worker needs, as plain data (picklable for Ray), and never holds a
secret: the API key is read from the worker's environment (``api_key_env``, then MOUD_API_KEY /
OPENAI_API_KEY).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from generation.scheduler import GenerationRun
from generation.summary import RunSummary
from generation.units import WorkUnit
from moud_core.backends.from_flags import resolve_backend_options
from moud_core.errors import ConfigError, MoudError, os_error
from moud_core.records import drop_record


@dataclass(frozen=True)
class RunSpec:
    config: dict  # RunConfig.to_dict() (secrets refused before this point)
    fingerprint: str  # the driver's config fingerprint; a worker that computes another refuses
    out: str
    languages: list[str]
    cache_file: str | None  # file name inside ``out`` (None: no request cache)
    api_key_env: str | None = None
    quiet: bool = True
    retry_failed: bool = False


def backend_options(cfg, api_key_env: str | None = None) -> dict:
    """The run's backend constructor options (see ``moud_core.backends.from_flags``)."""
    return resolve_backend_options(
        cfg["backend"],
        cfg["model"],
        cfg["backend_options"],
        api_key_env,
        origin=lambda key: cfg.origin(f"backend_options.{key}"),
    )


def load_spec_config(spec: RunSpec):
    from generation.config import load_run_config

    cfg = load_run_config(None, spec.config)
    if cfg.fingerprint != spec.fingerprint:
        raise ConfigError(
            f"config fingerprint {cfg.fingerprint} on this worker differs from the driver's "
            f"{spec.fingerprint} (is the demonstrations file {cfg['demos']} the same everywhere?)"
        )
    return cfg


def inline_filter(cfg, registry):
    """The quality gates as a ``row_filter`` for the runner: every gate except dedup, whose keep-the-first
    decision depends on the order rows arrive in (run ``moud filter`` afterwards for dedup). The LID gate
    fills ``metadata.lid_scores`` of kept rows in place."""
    from moud_gates.pipeline import FilterPipeline

    pipeline = FilterPipeline.from_config(cfg["filter_config"], registry=registry)

    def check(row):
        drop = pipeline.check_stateless(row)[0]
        return drop is None, (None if drop is None else drop_record(row, drop))

    return check


def execute_units(
    spec: RunSpec, units: list[WorkUnit], cfg=None, row_filter=None, text_gates=None
) -> RunSummary:
    """Make ``units`` into ``spec.out`` (skipping complete ones); returns the run summary. ``cfg``,
    ``row_filter`` and ``text_gates`` may be passed when already built (else they are built from ``spec``)."""
    import sqlite3

    from moud_core.backends.cache import CachedBackend
    from moud_core.backends.factory import make_backend
    from moud_core.languages import load_registry

    cfg = cfg or load_spec_config(spec)
    registry = load_registry([cfg["languages_file"]] if cfg["languages_file"] else [])
    out = Path(spec.out)
    if row_filter is None and cfg["filter"]:
        row_filter = inline_filter(cfg, registry)
    backend = make_backend(cfg["backend"], cfg["model"], **backend_options(cfg, spec.api_key_env))
    if spec.cache_file:
        try:
            backend = CachedBackend(backend, out / spec.cache_file)
        except (OSError, sqlite3.Error) as exc:
            raise os_error(out / spec.cache_file, exc, "open") from None
    gen = GenerationRun(
        cfg,
        out,
        backend,
        registry,
        spec.languages,
        units=units,
        quiet=spec.quiet,
        row_filter=row_filter,
        retry_failed=spec.retry_failed,
        text_gates=text_gates,
    )

    async def main() -> RunSummary:
        try:
            return await gen.run()
        finally:
            await backend.aclose()

    try:
        return asyncio.run(main())
    except MoudError:
        raise
    except (OSError, sqlite3.Error) as exc:
        raise os_error(out, exc) from None
