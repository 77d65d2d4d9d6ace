"""Merging sharded runs (Slurm arrays, Kubernetes jobs, Ray) of one config into one run folder.

Refuses output of different configs and duplicate dialogue ids, and reports missing work units. The merged
folder is staged beside ``out`` and moved into place only when everything checked out, so it is complete or
absent.
"""

from __future__ import annotations

from pathlib import Path

from generation.units import plan_units
from moud_core import __version__
from moud_core.atomic import atomic_open, staged_folder
from moud_core.errors import ConfigError, MoudError
from moud_core.jsonl import dumps_line, iter_jsonl
from moud_core.languages import load_registry, select_languages
from moud_core.runfolder import (
    DROPS,
    FAILURES,
    KINDS,
    MANIFEST,
    SHARDS,
    WORKER_MANIFEST_GLOB,
    RunFolder,
    manifest_fingerprints,
    read_manifest,
)


def load_inputs(inputs: list[Path]) -> list[tuple[Path, list[tuple[Path, dict]]]]:
    """[(run folder, [(manifest path, manifest), ...]), ...]; one-line errors for non-run folders."""
    loaded = []
    for run in inputs:
        if not run.is_dir():
            raise ConfigError(f"--inputs {run}: no such folder")
        paths = RunFolder.at(run).manifest_paths()
        if not paths:
            raise ConfigError(
                f"--inputs {run}: no {MANIFEST} or {WORKER_MANIFEST_GLOB}; not a `moud generate` run folder"
            )
        loaded.append((run, [(p, read_manifest(p)) for p in paths]))
    return loaded


def check_fingerprints(loaded) -> tuple[list[str], dict]:
    """All manifests must carry the same config fingerprint(s). Returns (fingerprints, config)."""
    ref_path, ref = loaded[0][1][0]
    ref_fps = manifest_fingerprints(ref)
    for run, manifests in loaded:
        for path, data in manifests:
            fps = manifest_fingerprints(data)
            if fps != ref_fps:
                raise ConfigError(
                    f"{ref_path.parent} (config fingerprint {', '.join(ref_fps)}) and {run} ({path.name}: "
                    f"fingerprint {', '.join(fps)}) were made with different configs; refusing to merge"
                )
    return ref_fps, ref.get("config", {})


def input_registry(loaded) -> dict:
    """The language registry of the inputs' configs (with their --languages-file, when any)."""
    extra = sorted(
        {
            data["config"]["languages_file"]
            for _run, manifests in loaded
            for _path, data in manifests
            if isinstance(data.get("config"), dict) and data["config"].get("languages_file")
        }
    )
    return load_registry(extra)


def expected_units(loaded, registry) -> list:
    """Every work unit the inputs' configs plan (union over manifests)."""
    units = set()
    for _run, manifests in loaded:
        for path, data in manifests:
            cfg = data.get("config") or {}
            try:
                if cfg["languages"] is None:
                    raise KeyError("languages")
                langs = select_languages(
                    cfg["languages"],
                    all_means="registered",
                    registry=registry,
                    where=f"{path}: config.languages",
                )
                units.update(plan_units(langs, int(cfg["dialogues_per_language"]), int(cfg["shard_size"])))
            except (KeyError, TypeError, ValueError) as exc:
                raise MoudError(
                    f"{path}: config lacks a usable {exc} field; cannot tell which work units the run plans"
                ) from None
    return sorted(units)


def collect_files(loaded, registry) -> dict[tuple[str, str, str], Path]:
    """(kind, language, shard name) -> file; the same unit in two inputs is refused."""
    files: dict[tuple[str, str, str], Path] = {}
    owners: dict[tuple[str, str, str], Path] = {}
    for run, _ in loaded:
        folder = RunFolder.at(run)
        for kind in KINDS:
            for lang, f in folder.files(registry, kind=kind, required=False):
                key = (kind, lang, f.name)
                if key in files:
                    raise MoudError(
                        f"duplicate work unit {kind}/{lang}/{f.name} in {owners[key]}"
                        f" and {run}: the same part was made twice; merge only one of them"
                    )
                files[key], owners[key] = f, run
    return files


def _row_id(obj: dict, kind: str):
    return (obj.get("row") or {}).get("id") if kind == DROPS else obj.get("id")


def merge(
    inputs: list[Path],
    out: Path,
    allow_incomplete: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> dict:
    """Merge ``inputs`` into ``out``; returns a summary dict. Raises MoudError/ConfigError."""
    inputs = [Path(p) for p in inputs]
    out = Path(out)
    if out.exists() and not overwrite:
        raise ConfigError(f"--out {out} exists; choose a new folder or pass --overwrite")
    if any(out.resolve() == p.resolve() for p in inputs):
        raise ConfigError(f"--out {out} is one of the --inputs; write the merge to a new folder")
    loaded = load_inputs(inputs)
    fingerprints, config = check_fingerprints(loaded)
    registry = input_registry(loaded)
    planned = expected_units(loaded, registry)
    files = collect_files(loaded, registry)
    done = {(lang, name) for kind, lang, name in files if kind == SHARDS}
    missing = [u for u in planned if (u.language, u.name) not in done]
    # failures/drops of a unit whose shard is not written yet belong to an unfinished unit: leave them out
    files = {k: f for k, f in files.items() if (k[1], k[2]) in done}
    if missing and not allow_incomplete:
        shown = ", ".join(f"{u.language}/{u.name} (dialogues {u.start}-{u.stop - 1})" for u in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise MoudError(
            f"{len(missing)} of {len(planned)} work units missing (incomplete runs): {shown}{more}; "
            "re-run those workers (same command) or pass --allow-incomplete"
        )
    seen: dict[str, tuple[int, int]] = {}  # id -> (file number, line): small even for 500k ids
    sources: list[Path] = []
    counts = {kind: 0 for kind in KINDS}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(files), desc="merge", unit="file")
    try:
        with staged_folder(out) as tmp:
            staged = RunFolder.at(tmp)
            for (kind, lang, name), src in sorted(files.items()):
                sources.append(src)
                dest = staged.unit_path(kind, lang, name)
                _copy_checked(src, dest, kind, sources, seen, fingerprints, counts)
                if bar is not None:
                    bar.update(1)
            status = "partial" if missing else "complete"
            manifest = {
                "moud_version": __version__,
                "fingerprint": fingerprints[-1],
                "fingerprints": fingerprints,
                "config": config,
            }
            extra = {
                "merged_from": [str(p) for p in inputs],
                "missing_units": [f"{u.language}/{u.name}" for u in missing],
                "units": {"planned": len(planned), "done": len(planned) - len(missing)},
            }
            staged.write_manifest(manifest, status, extra=extra)
    finally:
        if bar is not None:
            bar.close()
    return {
        "out": str(out),
        "status": status,
        "dialogues": counts[SHARDS],
        "failed": counts[FAILURES],
        "dropped": counts[DROPS],
        "planned_units": len(planned),
        "missing_units": len(missing),
    }


def _copy_checked(
    src: Path, dest: Path, kind: str, sources: list[Path], seen: dict, fingerprints: list[str], counts: dict
) -> None:
    """Copy one unit file line by line, refusing duplicate ids and rows of another config."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(dest) as fh:
        for lineno, obj in iter_jsonl(src):
            rid = _row_id(obj, kind)
            where = f"{src}:{lineno}"
            if kind != DROPS:
                if not isinstance(rid, str) or not rid:
                    raise MoudError(f"{where}: expected an 'id' field")
                if rid in seen:
                    first, first_line = seen[rid]
                    raise MoudError(
                        f"{where}: duplicate id {rid!r} (also at {sources[first]}:{first_line}); "
                        "refusing to merge"
                    )
                seen[rid] = (len(sources) - 1, lineno)
            row = obj.get("row", obj) if kind == DROPS else obj
            fp = (
                row.get("run_fingerprint")
                if kind == FAILURES
                else (row.get("metadata") or {}).get("run_fingerprint")
            )
            if fp is not None and fp not in fingerprints:
                raise MoudError(
                    f"{where}: made with config fingerprint {fp}, but the manifests say "
                    f"{', '.join(fingerprints)}; refusing to merge"
                )
            fh.write(dumps_line(obj) + "\n")
            counts[kind] += 1
