"""The run folder of ``moud generate``: checked against the config before anything is written.

A run folder holds the output of one config (fingerprint); a re-run with the same config resumes, a
changed config is refused unless ``--allow-mixed-configs``. ``--overwrite`` removes previous output first
(for a sharded worker, only its own units, manifest and cache, so workers sharing a folder are safe).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from generation.config import RunConfig, changed_fields
from generation.units import WorkUnit
from moud_core import __version__
from moud_core.errors import ConfigError
from moud_core.runfolder import (
    KINDS,
    MANIFEST,
    SHARDS,
    RunFolder,
    manifest_fingerprints,
    read_manifest,
)


def public_config(cfg: RunConfig) -> dict:
    """The config as recorded in the manifest: anything that looks like a secret is left out."""
    data = cfg.to_dict()
    data["backend_options"] = {
        k: v
        for k, v in data.get("backend_options", {}).items()
        if "key" not in k.lower() and "token" not in k.lower()
    }
    return data


def prepare_output(
    out: Path,
    cfg: RunConfig,
    overwrite: bool = False,
    allow_mixed: bool = False,
    name: str = MANIFEST,
    units: list[WorkUnit] | None = None,
) -> dict:
    """Check ``out`` against the config; returns the manifest to write (as ``out/name``). Writes nothing
    (except removing previous output with ``overwrite``)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file, expected a folder")
    folder = RunFolder.at(out)
    if overwrite and out.is_dir():
        _remove_previous(folder, name, units)
    fingerprints = [cfg.fingerprint]
    paths = folder.manifest_paths() if out.is_dir() else []
    for path in paths:
        old = read_manifest(path)
        old_fps = manifest_fingerprints(old)
        if cfg.fingerprint not in old_fps and not allow_mixed and _has_output(folder):
            changed = changed_fields(old.get("config", {}), cfg.to_dict())
            raise ConfigError(
                f"{out} holds output of a different config ({path.name}: fingerprint {old_fps[-1]} vs "
                f"{cfg.fingerprint}; changed: {', '.join(changed) or 'demonstrations file'}); "
                "use another --out, "
                "--overwrite, or --allow-mixed-configs"
            )
        if path.name == name and _has_output(folder):
            fingerprints = old_fps if cfg.fingerprint in old_fps else [*old_fps, cfg.fingerprint]
    if not paths and out.is_dir() and folder.kind_dir(SHARDS).exists():
        raise ConfigError(f"{out} has shards but no {MANIFEST}; refusing to mix with unknown output")
    return {
        "moud_version": __version__,
        "fingerprint": cfg.fingerprint,
        "fingerprints": fingerprints,
        "config": public_config(cfg),
    }


def _has_output(folder: RunFolder) -> bool:
    """Whether the folder holds any unit file: a first attempt that failed before writing anything (a wrong
    --model, an unreachable server) does not lock the folder to its config."""
    return any(
        folder.kind_dir(kind).is_dir() and any(folder.kind_dir(kind).rglob("*.jsonl")) for kind in KINDS
    )


def _remove_previous(folder: RunFolder, name: str, units: list[WorkUnit] | None) -> None:
    if name == MANIFEST:
        victims = [folder.kind_dir(kind) for kind in KINDS] + folder.manifest_paths() + folder.cache_files()
    else:
        victims = [folder.root / name, *folder.cache_files(name)]
        for u in units or []:
            victims += [folder.unit_path(kind, u.language, u.name) for kind in KINDS]
    for p in victims:
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
