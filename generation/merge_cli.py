"""``moud merge``: combine the shards of sharded runs (Slurm arrays, Kubernetes jobs, Ray) into one run
folder, refusing output of different configs and duplicate dialogue ids, and reporting missing work units.

Inputs are run folders: separate ones (one per worker) or one folder shared by many workers (with
per-worker ``manifest-IIIII.json``). The merged folder is written in a temporary folder beside ``--out``
and renamed into place only when everything checked out, so it is complete or absent.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from moud_core.errors import ConfigError, MoudError

KINDS = ("shards", "failures", "drops")

EXAMPLE = """\
examples:
  # 4 workers, each with its own folder (e.g. a Slurm array writing runs/part-$SLURM_ARRAY_TASK_ID):
  moud merge --inputs runs/part-0 runs/part-1 runs/part-2 runs/part-3 --out runs/merged

  # workers that shared one folder (--num-shards N --shard-index I --out runs/big):
  moud merge --inputs runs/big --out runs/big-merged

  # keep going with what is there while some workers are still missing:
  moud merge --inputs runs/part-* --out runs/partial --allow-incomplete

Refuses inputs made with different configs (fingerprints), duplicate dialogue ids (the same work unit in
two inputs) and, unless --allow-incomplete, runs with missing work units (it lists them).
Output: MERGED/shards/<lang>/shard-NNNNN.jsonl, MERGED/failures/..., MERGED/drops/..., MERGED/manifest.json."""


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Combine the shards of sharded `moud generate` runs of one config into one run folder "
                          "(checks config fingerprints, duplicate ids and missing work units).")
    parser.epilog = EXAMPLE
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--inputs", nargs="+", required=True, metavar="RUN", help="run folders to combine")
    parser.add_argument("--out", required=True, help="merged run folder (must not exist unless --overwrite)")
    parser.add_argument("--allow-incomplete", action="store_true",
                        help="write the merge even when work units are missing (manifest status 'partial')")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def load_inputs(inputs: list[Path]) -> list[tuple[Path, list[tuple[Path, dict]]]]:
    """[(run folder, [(manifest path, manifest), ...]), ...]; one-line errors for non-run folders."""
    from generation.runner import manifest_paths, read_manifest

    loaded = []
    for run in inputs:
        if not run.is_dir():
            raise ConfigError(f"--inputs {run}: no such folder")
        paths = manifest_paths(run)
        if not paths:
            raise ConfigError(f"--inputs {run}: no manifest.json or manifest-*.json; not a `moud generate` run folder")
        loaded.append((run, [(p, read_manifest(p)) for p in paths]))
    return loaded


def check_fingerprints(loaded) -> tuple[list[str], dict]:
    """All manifests must carry the same config fingerprint(s). Returns (fingerprints, config)."""
    from generation.runner import manifest_fingerprints

    ref_path, ref = loaded[0][1][0]
    ref_fps = manifest_fingerprints(ref)
    for run, manifests in loaded:
        for path, data in manifests:
            fps = manifest_fingerprints(data)
            if fps != ref_fps:
                raise ConfigError(
                    f"{ref_path.parent} (config fingerprint {', '.join(ref_fps)}) and {run} ({path.name}: "
                    f"fingerprint {', '.join(fps)}) were made with different configs; refusing to merge")
    return ref_fps, ref.get("config", {})


def expected_units(loaded) -> list:
    """Every work unit the inputs' configs plan (union over manifests)."""
    from generation.runner import plan_units
    from moud_core.languages import load_registry, parse_language_list

    units = set()
    for _run, manifests in loaded:
        for path, data in manifests:
            cfg = data.get("config") or {}
            try:
                extra = [cfg["languages_file"]] if cfg.get("languages_file") else []
                registry = load_registry(extra)
                langs = parse_language_list(cfg["languages"], registry)
                units.update(plan_units(langs, int(cfg["dialogues_per_language"]), int(cfg["shard_size"])))
            except (KeyError, TypeError, ValueError) as exc:
                raise MoudError(f"{path}: config lacks a usable {exc} field; cannot tell which work units "
                                "the run plans") from None
    return sorted(units)


def collect_files(loaded) -> dict[tuple[str, str, str], Path]:
    """(kind, language, shard name) -> file; the same unit in two inputs is refused."""
    files: dict[tuple[str, str, str], Path] = {}
    for run, _ in loaded:
        for kind in KINDS:
            base = run / kind
            if not base.is_dir():
                continue
            for lang_dir in sorted(p for p in base.iterdir() if p.is_dir()):
                for f in sorted(lang_dir.glob("shard-*.jsonl")):
                    key = (kind, lang_dir.name, f.name)
                    if key in files:
                        raise MoudError(f"duplicate work unit {kind}/{lang_dir.name}/{f.name} in {files[key].parents[2]}"
                                        f" and {run}: the same part was made twice; merge only one of them")
                    files[key] = f
    return files


def _row_id(obj: dict, kind: str):
    return (obj.get("row") or {}).get("id") if kind == "drops" else obj.get("id")


def merge(inputs: list[Path], out: Path, allow_incomplete: bool = False, overwrite: bool = False,
          progress: bool = True) -> dict:
    """Merge ``inputs`` into ``out``; returns a summary dict. Raises MoudError/ConfigError."""
    from generation.runner import write_manifest
    from moud_core.jsonl import iter_jsonl

    inputs = [Path(p) for p in inputs]
    out = Path(out)
    if out.exists() and not overwrite:
        raise ConfigError(f"--out {out} exists; choose a new folder or pass --overwrite")
    if any(out.resolve() == p.resolve() for p in inputs):
        raise ConfigError(f"--out {out} is one of the --inputs; write the merge to a new folder")
    loaded = load_inputs(inputs)
    fingerprints, config = check_fingerprints(loaded)
    planned = expected_units(loaded)
    files = collect_files(loaded)
    done = {(lang, name) for kind, lang, name in files if kind == "shards"}
    missing = [u for u in planned if (u.language, u.name) not in done]
    # failures/drops of a unit whose shard is not written yet belong to an unfinished unit: leave them out
    files = {k: f for k, f in files.items() if (k[1], k[2]) in done}
    if missing and not allow_incomplete:
        shown = ", ".join(f"{u.language}/{u.name} (dialogues {u.start}-{u.stop - 1})" for u in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise MoudError(f"{len(missing)} of {len(planned)} work units missing (incomplete runs): {shown}{more}; "
                        "re-run those workers (same command) or pass --allow-incomplete")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.merge-", dir=out.parent))
    seen: dict[str, tuple[int, int]] = {}  # id -> (file number, line): small even for 500k ids
    sources: list[Path] = []
    counts = {kind: 0 for kind in KINDS}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(files), desc="merge", unit="file")
    try:
        for (kind, lang, name), src in sorted(files.items()):
            sources.append(src)
            dest = tmp / kind / lang / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "w", encoding="utf-8") as fh:
                for lineno, obj in iter_jsonl(src):
                    rid = _row_id(obj, kind)
                    where = f"{src}:{lineno}"
                    if kind != "drops":
                        if not isinstance(rid, str) or not rid:
                            raise MoudError(f"{where}: expected an 'id' field")
                        if rid in seen:
                            first, first_line = seen[rid]
                            raise MoudError(f"{where}: duplicate id {rid!r} (also at {sources[first]}:{first_line}); "
                                            "refusing to merge")
                        seen[rid] = (len(sources) - 1, lineno)
                    row = obj.get("row", obj) if kind == "drops" else obj
                    fp = row.get("run_fingerprint") if kind == "failures" else \
                        (row.get("metadata") or {}).get("run_fingerprint")
                    if fp is not None and fp not in fingerprints:
                        raise MoudError(f"{where}: made with config fingerprint {fp}, but the manifests say "
                                        f"{', '.join(fingerprints)}; refusing to merge")
                    fh.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
                    counts[kind] += 1
            if bar is not None:
                bar.update(1)
        status = "partial" if missing else "complete"
        from moud_core import __version__

        manifest = {"moud_version": __version__, "fingerprint": fingerprints[-1], "fingerprints": fingerprints,
                    "config": config}
        extra = {"merged_from": [str(p) for p in inputs],
                 "missing_units": [f"{u.language}/{u.name}" for u in missing],
                 "units": {"planned": len(planned), "done": len(planned) - len(missing)}}
        write_manifest(tmp, manifest, None, status, extra=extra)
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    return {"out": str(out), "status": status, "dialogues": counts["shards"], "failed": counts["failures"],
            "dropped": counts["drops"], "planned_units": len(planned), "missing_units": len(missing)}


def _swap_into_place(tmp: Path, out: Path) -> None:
    if not out.exists():
        tmp.rename(out)
        return
    trash = out.parent / f".{out.name}.old-{tmp.name.rsplit('-', 1)[-1]}"
    out.rename(trash)
    tmp.rename(out)
    shutil.rmtree(trash, ignore_errors=True)


def run(args) -> int:
    import sqlite3

    from generation.runner import output_error

    try:
        result = merge(args.inputs, args.out, allow_incomplete=args.allow_incomplete, overwrite=args.overwrite,
                       progress=not args.quiet)
    except (OSError, sqlite3.Error) as exc:
        raise output_error(args.out, exc) from None
    line = (f"merged {result['dialogues']} dialogues ({result['failed']} failed, {result['dropped']} dropped) "
            f"from {len(args.inputs)} input(s) into {result['out']}: {result['status']}")
    if result["missing_units"]:
        line += f"; {result['missing_units']} of {result['planned_units']} work units missing"
    print(line, file=sys.stderr)
    return 0
