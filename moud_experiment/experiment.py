"""``moud experiment RECIPE --out DIR``: every stage of a recipe into ``DIR/<stage>/``, one progress line per
stage, skipping a stage whose output is complete and whose inputs and settings are unchanged.

A stage's fingerprint hashes its command line (``DIR`` and scripted-server URLs written as placeholders),
the content of the files it names (generated configs, external inputs) and its input stages' fingerprints.
``DIR/.stages/<stage>.json`` is written when the stage completes; a stage without it is run again (a
resumable command, ``generate`` or ``judge``, picks up its partial output when the settings are the same).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from moud_core import __version__
from moud_core.atomic import atomic_write_text
from moud_core.errors import MoudError
from moud_core.outdir import prepare_out_dir
from moud_experiment.commands import run_command
from moud_experiment.recipe import Recipe, load_recipe
from moud_experiment.servers import scripted_servers
from moud_experiment.stage import Stage, json_or_empty
from moud_experiment.stages import plan_stages
from moud_experiment.steps import STEPS

MARKERS = ".stages"


@dataclass
class StageRecord:
    name: str
    status: str  # done | skipped (unchanged) | not run (reason)
    seconds: float = 0.0
    reason: str = ""


@dataclass
class ExperimentResult:
    out: Path
    stages: list[StageRecord] = field(default_factory=list)


def _file_digest(path: Path) -> str:
    if not path.is_file():
        return "missing"
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint(stage: Stage, out: Path, urls: dict[str, str], done: dict[str, str]) -> str:
    """What decides the stage's output: its command line, named files, and its inputs' fingerprints."""
    argv = []
    for arg in stage.argv:
        for url in urls.values():
            arg = arg.replace(url, "scripted")
        argv.append(arg.replace(str(out), "<DIR>"))
    content = {
        "stage": stage.name,
        "command": stage.command,
        "action": stage.action,
        "argv": argv,
        "files": {str(p).replace(str(out), "<DIR>"): _file_digest(p) for p in stage.files},
        "inputs": {name: done.get(name, "not run") for name in stage.inputs},
        "moud": __version__,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def _marker(out: Path, name: str, kind: str = "") -> Path:
    return out / MARKERS / f"{name}{kind}.json"


def _prepare(stage: Stage, out: Path, fp: str) -> None:
    """Clear a stale output; keep a resumable stage's partial output made with the same fingerprint."""
    started = json_or_empty(_marker(out, stage.name, ".started"))
    keep = stage.resumable and started.get("fingerprint") == fp
    if stage.out.exists() and not keep:
        shutil.rmtree(stage.out) if stage.out.is_dir() else stage.out.unlink()
    atomic_write_text(_marker(out, stage.name, ".started"), json.dumps({"fingerprint": fp}) + "\n")


def _line(i: int, n: int, record: StageRecord) -> str:
    if record.status == "done":
        what = f"done in {record.seconds:.1f} s"
    elif record.status == "unchanged":
        what = "unchanged, skipped"
    else:
        what = f"not run: {record.reason}"
    return f"[{i}/{n}] {record.name:<16} {what}"


def run_experiment(recipe: Recipe | str | Path, out: str | Path, quiet: bool = False) -> ExperimentResult:
    """Run (or resume) the experiment of ``recipe`` (a Recipe or a recipe file) into ``out``."""
    recipe = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    out = prepare_out_dir(Path(out).resolve())
    stream = sys.stderr
    tty = stream.isatty() and not quiet
    result = ExperimentResult(out)
    with scripted_servers(recipe) as urls:
        stages = plan_stages(recipe, out, urls)
        done: dict[str, str] = {}
        for i, stage in enumerate(stages, 1):
            if stage.skip_reason:
                record = StageRecord(stage.name, "not run", reason=stage.skip_reason)
            else:
                fp = fingerprint(stage, out, urls, done)
                marker = json_or_empty(_marker(out, stage.name))
                if marker.get("fingerprint") == fp and stage.out.exists():
                    record = StageRecord(stage.name, "unchanged", marker.get("seconds", 0.0))
                else:
                    if tty:
                        print(
                            f"[{i}/{len(stages)}] {stage.name:<16} running …",
                            end="\r",
                            file=stream,
                            flush=True,
                        )
                    record = _run(stage, recipe, out, fp, stages, result)
                done[stage.name] = fp
            result.stages.append(record)
            if not quiet:
                print(_line(i, len(stages), record) + " " * 8, file=stream, flush=True)
    return result


def _run(
    stage: Stage, recipe, out: Path, fp: str, stages: list[Stage], result: ExperimentResult
) -> StageRecord:
    _prepare(stage, out, fp)
    start = time.perf_counter()
    log = out / "logs" / f"{stage.name}.log"
    try:
        if stage.command is not None:
            run_command(stage.command, stage.argv, log)
        else:
            STEPS[stage.action](recipe, out, stage, stages, result)
    except MoudError as exc:
        raise MoudError(f"stage {stage.name}: {exc} (log: {log})") from None
    seconds = time.perf_counter() - start
    atomic_write_text(_marker(out, stage.name), json.dumps({"fingerprint": fp, "seconds": seconds}) + "\n")
    return StageRecord(stage.name, "done", seconds)
