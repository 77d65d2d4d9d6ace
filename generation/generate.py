"""``generate``: one ``moud generate`` invocation, from a validated config to a written run folder.

Checks the folder against the config, writes the manifest ("running"), makes the pending work units with
the local or the Ray executor, and leaves the manifest saying what is there: ``complete`` (every unit of
this worker written, no backend failure left), ``partial`` (something is left to make: re-run the same
command), ``interrupted`` (SIGINT/SIGTERM; re-run to resume) or ``failed`` (an error).
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from generation.advice import nothing_made
from generation.config import RunConfig
from generation.executors.local import RunSpec, backend_options, execute_units, inline_filter
from generation.output_checks import load_text_gates
from generation.run_output import prepare_output
from generation.scheduler import PreflightError
from generation.summary import RunSummary
from generation.unit_state import unit_state
from generation.units import plan_units, select_units
from moud_core.errors import MoudError, os_error
from moud_core.languages import load_registry
from moud_core.runfolder import SHARDS, RunFolder, cache_name, manifest_name


@dataclass
class Sharding:
    num_shards: int = 1
    shard_index: int = 0


@dataclass
class GenerateResult:
    summary: RunSummary
    units: int  # units of this worker
    units_done: int  # units of the whole run that are complete
    units_planned: int
    status: str
    output_failures: int = 0  # dialogues of this worker whose output failed (made again by --retry-failed)


def generate(
    cfg: RunConfig,
    out: str | Path,
    *,
    sharding: Sharding | None = None,
    executor=None,
    overwrite: bool = False,
    allow_mixed: bool = False,
    api_key_env: str | None = None,
    quiet: bool = False,
    retry_failed: bool = False,
) -> GenerateResult:
    """Make this worker's work units of ``cfg`` into ``out``. ``executor``: None (this process) or an object
    with ``run(spec, units) -> RunSummary`` (``RayExecutor``). Raises MoudError when nothing could be made."""
    sharding = sharding or Sharding()
    out = Path(out)
    registry = load_registry([cfg["languages_file"]] if cfg["languages_file"] else [])
    languages = cfg.language_codes(registry)
    all_units = plan_units(languages, cfg["dialogues_per_language"], cfg["shard_size"])
    units = select_units(all_units, sharding.num_shards, sharding.shard_index)
    name = manifest_name(sharding.num_shards, sharding.shard_index)
    existed = out.exists()
    manifest = prepare_output(out, cfg, overwrite=overwrite, allow_mixed=allow_mixed, name=name, units=units)
    backend_options(cfg, api_key_env)  # refuse secrets / unknown options / missing key env up front
    row_filter = inline_filter(cfg, registry) if cfg["filter"] else None  # a bad filter config fails early
    text_gates = load_text_gates(cfg, registry) if executor is None else None  # (Ray tasks load their own)
    folder = RunFolder.at(out)
    worker = {
        "num_shards": sharding.num_shards,
        "shard_index": sharding.shard_index,
        "units": len(units),
        "executor": getattr(executor, "name", "local"),
    }
    spec = RunSpec(
        config=cfg.to_dict(),
        fingerprint=cfg.fingerprint,
        out=str(out),
        languages=languages,
        cache_file=cache_name(sharding.num_shards, sharding.shard_index) if cfg["cache"] else None,
        api_key_env=api_key_env,
        quiet=quiet,
        retry_failed=retry_failed,
    )
    try:
        out.mkdir(parents=True, exist_ok=True)
        folder.write_manifest(manifest, "running", name=name, extra={"worker": worker})
        if executor is not None:
            summary = executor.run(spec, units)
        else:
            summary = (
                execute_units(spec, units, cfg=cfg, row_filter=row_filter, text_gates=text_gates)
                if units
                else RunSummary()
            )
    except BaseException as exc:
        if isinstance(exc, PreflightError) and not existed:
            shutil.rmtree(out, ignore_errors=True)  # nothing was asked yet: leave no folder behind
            raise
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        try:
            folder.write_manifest(
                manifest,
                status,
                name=name,
                extra={"worker": worker, "error": " ".join(str(exc).split())[:500]},
            )
        except (OSError, MoudError):
            pass  # best effort: the disk may be full
        if isinstance(exc, (OSError, sqlite3.Error)):
            raise os_error(out, exc) from None
        raise
    states = [unit_state(folder, u, retry_failed=False) for u in units]
    left = [s for s in states if not s.done]
    done = [u for u in all_units if folder.unit_path(SHARDS, u.language, u.name).exists()]
    status = "partial" if left else "complete"
    worker["run_units_done"] = f"{len(done)}/{len(all_units)}"
    folder.write_manifest(
        manifest, status, name=name, extra={"worker": worker, "last_run": summary.to_dict()}
    )
    if summary.failed and not summary.made and not summary.dropped:
        names = ", ".join(registry[code].name for code in languages)
        raise MoudError(nothing_made(summary, out, names))
    earlier = sum("failure" in item for s in states for item in s.kept.values())
    return GenerateResult(summary, len(units), len(done), len(all_units), status, earlier)
