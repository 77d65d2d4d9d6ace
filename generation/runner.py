"""Run orchestration: work units, dialogues in flight, atomic shards, manifest, resume, summary.

Work is cut into units of ``shard_size`` consecutive dialogue indices per language; unit ``k`` of
language ``L`` becomes ``shards/L/shard-{k:05d}.jsonl`` (+ ``failures/L/shard-{k:05d}.jsonl``),
written atomically once every dialogue of the unit is made or has failed. A shard file on disk is
therefore complete by construction; a re-run skips completed units and re-does the others, answered
from the request cache for every request that had completed before a crash.
"""

from __future__ import annotations

import asyncio
import errno
import json
import math
import sqlite3
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from generation.config import _NOT_FINGERPRINTED, RunConfig
from generation.output_checks import OutputChecker, load_text_gates
from generation.prompts import PromptSet, load_demonstrations
from generation.steps import DialogueFailure, StepContext, make_dialogue, plan_dialogue
from moud_core import __version__
from moud_core.atomic import atomic_write_text
from moud_core.backends.base import Backend
from moud_core.errors import ConfigError, MoudError
from moud_core.jsonl import write_jsonl_atomic
from moud_core.languages import Language
from moud_core.schema import make_row_id, split_group_for
from moud_core.taxonomy import load_persona_taxonomy, load_speech_events

MANIFEST = "manifest.json"
WORKER_MANIFEST_GLOB = "manifest-*.json"


def manifest_name(num_shards: int = 1, shard_index: int = 0) -> str:
    """``manifest.json`` for a whole run; ``manifest-IIIII.json`` for worker I of a sharded run, so
    workers sharing one ``--out`` never overwrite each other's manifest."""
    return MANIFEST if num_shards == 1 else f"manifest-{shard_index:05d}.json"


def cache_name(num_shards: int = 1, shard_index: int = 0) -> str:
    return "cache.sqlite" if num_shards == 1 else f"cache-{shard_index:05d}.sqlite"


def manifest_paths(out: Path) -> list[Path]:
    """Every manifest in a run folder: the run's own and those of sharded workers."""
    paths = [out / MANIFEST] if (out / MANIFEST).is_file() else []
    return paths + sorted(p for p in out.glob(WORKER_MANIFEST_GLOB) if p.is_file())


def read_manifest(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise MoudError(f"{path}:{exc.lineno}: invalid JSON in run manifest") from None
    except OSError as exc:
        raise output_error(path, exc, "read") from None
    if not isinstance(data, dict) or not (data.get("fingerprint") or data.get("fingerprints")):
        raise MoudError(f"{path}: not a run manifest (expected an object with a 'fingerprint' field)")
    return data


def manifest_fingerprints(data: dict) -> list[str]:
    return list(data.get("fingerprints") or [data.get("fingerprint")])


def output_error(path: Path | str, exc: BaseException, action: str = "write") -> MoudError:
    """A one-line MoudError for an OSError/sqlite3 error while reading or writing ``path``."""
    if isinstance(exc, sqlite3.Error):
        why = str(exc)
        if "full" in why:
            why += " (disk full: free space or use another --out)"
        return MoudError(f"cannot {action} {path}: {why}")
    code = getattr(exc, "errno", None)
    why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    where = getattr(exc, "filename", None) or path
    hints = {errno.ENOSPC: "disk full: free space or use another --out",
             errno.EDQUOT: "disk quota exceeded: free space or use another --out",
             errno.EROFS: "read-only file system: use another --out",
             errno.EACCES: "permission denied: use a writable --out",
             errno.EPERM: "permission denied: use a writable --out",
             errno.ENOTDIR: "a component of the path is a file, not a folder",
             errno.EEXIST: "a file is in the way of a folder"}
    hint = hints.get(code)
    return MoudError(f"cannot {action} {where}: {why}" + (f" ({hint})" if hint and hint != why else ""))


@dataclass(frozen=True, order=True)
class WorkUnit:
    language: str
    shard: int
    start: int
    stop: int

    @property
    def name(self) -> str:
        return f"shard-{self.shard:05d}.jsonl"


def plan_units(languages: list[str], per_language: int, shard_size: int) -> list[WorkUnit]:
    units = []
    for lang in languages:
        for k in range(math.ceil(per_language / shard_size)):
            units.append(WorkUnit(lang, k, k * shard_size, min(per_language, (k + 1) * shard_size)))
    return units


def select_units(units: list[WorkUnit], num_shards: int = 1, shard_index: int = 0) -> list[WorkUnit]:
    """Deterministic partition for independent workers (Slurm arrays, Kubernetes jobs, Ray tasks)."""
    if num_shards < 1 or not 0 <= shard_index < num_shards:
        raise ConfigError(f"--shard-index must be in [0, {num_shards - 1}] (got {shard_index})")
    return [u for i, u in enumerate(units) if i % num_shards == shard_index]


@dataclass
class RunSummary:
    made: int = 0
    failed: int = 0
    skipped_units: int = 0
    failure_reasons: Counter = field(default_factory=Counter)
    requests: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_seconds: float = 0.0
    per_language: dict = field(default_factory=lambda: defaultdict(lambda: {"made": 0, "failed": 0}))

    def to_dict(self) -> dict:
        return {"made": self.made, "failed": self.failed, "skipped_units": self.skipped_units,
                "failure_reasons": dict(self.failure_reasons), "requests": self.requests,
                "cache_hits": self.cache_hits, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "wall_seconds": round(self.wall_seconds, 3),
                "per_language": {k: dict(v) for k, v in self.per_language.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> RunSummary:
        s = cls()
        s.add(data)
        s.wall_seconds = float(data.get("wall_seconds", 0.0))
        return s

    def add(self, data: dict) -> None:
        """Add another run's ``to_dict()`` (e.g. one Ray task's) to this summary (wall time excepted)."""
        for key in ("made", "failed", "skipped_units", "requests", "cache_hits", "prompt_tokens",
                    "completion_tokens"):
            setattr(self, key, getattr(self, key) + int(data.get(key, 0)))
        self.failure_reasons.update(data.get("failure_reasons", {}))
        for lang, counts in data.get("per_language", {}).items():
            entry = self.per_language[lang]
            for k, v in counts.items():
                entry[k] = entry.get(k, 0) + v

    def render(self) -> str:
        lines = [f"made {self.made} dialogues, failed {self.failed}"
                 + (f", {self.skipped_units} shard(s) already complete" if self.skipped_units else ""),
                 f"requests {self.requests} (cache hits {self.cache_hits}), tokens {self.prompt_tokens} prompt"
                 f" + {self.completion_tokens} completion, {self.wall_seconds:.1f}s"]
        for reason, n in self.failure_reasons.most_common():
            lines.append(f"  failed: {reason}: {n}")
        return "\n".join(lines)


def public_config(cfg: RunConfig) -> dict:
    data = cfg.to_dict()
    data["backend_options"] = {k: v for k, v in data.get("backend_options", {}).items()
                               if "key" not in k.lower() and "token" not in k.lower()}
    return data


def prepare_output(out: Path, cfg: RunConfig, overwrite: bool = False, allow_mixed: bool = False,
                   name: str = MANIFEST, units: list[WorkUnit] | None = None) -> dict:
    """Check ``out`` against the config; returns the manifest to write (as ``out/name``).

    Refuses to mix configs: every manifest in the folder (``manifest.json`` and the per-worker
    ``manifest-IIIII.json`` of sharded runs) must list this config's fingerprint. ``overwrite`` deletes
    previous output first: everything for a whole run; for a sharded worker (``name`` is not
    ``manifest.json``) only its own ``units``, manifest and cache, so workers sharing a folder are safe."""
    out = Path(out)
    if overwrite and out.is_dir():
        _remove_previous(out, name, units)
    fingerprints = [cfg.fingerprint]
    paths = manifest_paths(out) if out.is_dir() else []
    for path in paths:
        old = read_manifest(path)
        old_fps = manifest_fingerprints(old)
        if cfg.fingerprint not in old_fps and not allow_mixed:
            changed = _changed_fields(old.get("config", {}), cfg.to_dict())
            raise ConfigError(
                f"{out} holds output of a different config ({path.name}: fingerprint {old_fps[-1]} vs "
                f"{cfg.fingerprint}; changed: {', '.join(changed) or 'demonstrations file'}); use another --out, "
                "--overwrite, or --allow-mixed-configs")
        if path.name == name:
            fingerprints = old_fps if cfg.fingerprint in old_fps else [*old_fps, cfg.fingerprint]
    if not paths and out.is_dir() and (out / "shards").exists():
        raise ConfigError(f"{out} has shards but no {MANIFEST}; refusing to mix with unknown output")
    return {"moud_version": __version__, "fingerprint": cfg.fingerprint, "fingerprints": fingerprints,
            "config": public_config(cfg)}


def _remove_previous(out: Path, name: str, units: list[WorkUnit] | None) -> None:
    import shutil

    if name == MANIFEST:
        victims = [out / sub for sub in ("shards", "failures", "drops", MANIFEST)]
        victims += list(out.glob(WORKER_MANIFEST_GLOB)) + list(out.glob("cache*.sqlite*"))
    else:
        worker = name[len("manifest-"):-len(".json")]
        victims = [out / name, *out.glob(f"cache-{worker}.sqlite*")]
        for u in units or []:
            victims += [out / kind / u.language / u.name for kind in ("shards", "failures", "drops")]
    for p in victims:
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def _changed_fields(old: dict, new: dict, prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if not prefix and key in _NOT_FINGERPRINTED:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(_changed_fields(a, b, f"{prefix}{key}."))
        elif a != b:
            out.append(prefix + key)
    return out


class GenerationRun:
    def __init__(self, cfg: RunConfig, out: str | Path, backend: Backend, registry: dict[str, Language],
                 languages: list[str], units: list[WorkUnit] | None = None, quiet: bool = False,
                 row_filter=None, progress: bool = True, text_gates=None):
        self.cfg, self.out, self.backend, self.registry = cfg, Path(out), backend, registry
        self.languages = languages
        self.units = units if units is not None else plan_units(languages, cfg["dialogues_per_language"],
                                                                 cfg["shard_size"])
        self.quiet, self.progress = quiet, progress and not quiet
        self.row_filter = row_filter  # optional callable(row) -> (kept: bool, drop_record | None)
        self.text_gates = text_gates if text_gates is not None else load_text_gates(cfg, registry)
        self.prompts = PromptSet.load(cfg["prompt_version"])
        self.taxonomy = load_persona_taxonomy()
        self.events = load_speech_events()
        self.demos = load_demonstrations(cfg["demos"])
        self.summary = RunSummary()
        self.backend_info = backend.describe()

    def _remove_stale_temp_files(self, pending: list[WorkUnit]) -> None:
        """A process killed inside an atomic write leaves ``.shard-NNNNN.jsonl.*.tmp`` behind. Only this
        run's own pending units are cleaned, so workers sharing the folder never touch each other's."""
        for unit in pending:
            for kind in ("shards", "failures", "drops"):
                folder = self.out / kind / unit.language
                if folder.is_dir():
                    for stale in folder.glob(f".{unit.name}.*.tmp"):
                        stale.unlink(missing_ok=True)

    def unit_done(self, unit: WorkUnit) -> bool:
        return (self.out / "shards" / unit.language / unit.name).exists()

    async def run(self) -> RunSummary:
        """Make every pending unit. The first fatal error (output folder unwritable, disk full, request
        cache broken, a bug) stops the run: no new dialogues start, those in flight are cancelled, no
        partial shard is left, and the error is raised (OSError/sqlite3 errors as a one-line MoudError)."""
        t0 = time.perf_counter()
        pending = [u for u in self.units if not self.unit_done(u)]
        self.summary.skipped_units = len(self.units) - len(pending)
        self._remove_stale_temp_files(pending)
        if pending:
            await self.backend.check()
        bars = self._make_bars(pending)
        sem = asyncio.Semaphore(self.cfg["concurrency"])
        contexts = {lang: StepContext(self.backend, self.prompts, self.cfg, self.registry[lang],
                                      OutputChecker(lang, self.text_gates, self.cfg["on_truncated"]))
                    for lang in {u.language for u in pending}}
        results: dict[WorkUnit, dict[int, dict]] = {u: {} for u in pending}
        tasks: set[asyncio.Task] = set()
        fatal: list[BaseException] = []
        finished = asyncio.Event()
        scheduling = True

        async def one(unit: WorkUnit, index: int) -> None:
            try:
                try:
                    item = await self._dialogue(contexts[unit.language], unit.language, index)
                finally:
                    sem.release()
                results[unit][index] = item
                if len(results[unit]) == unit.stop - unit.start:
                    self._write_unit(unit, results.pop(unit))
                if bars:
                    self._tick(bars[unit.language], contexts[unit.language])
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # noqa: B036 - recorded and re-raised by run()
                if not fatal:
                    fatal.append(self._fatal(exc))
                finished.set()

        def done(task: asyncio.Task) -> None:
            tasks.discard(task)
            if not tasks and not scheduling:
                finished.set()

        try:
            for unit in pending:
                for index in range(unit.start, unit.stop):
                    await sem.acquire()
                    if fatal:
                        break
                    task = asyncio.create_task(one(unit, index))
                    tasks.add(task)
                    task.add_done_callback(done)
                if fatal:
                    break
            scheduling = False
            if tasks and not fatal:
                await finished.wait()
        finally:
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.gather(*list(tasks), return_exceptions=True)
            for bar in (bars or {}).values():
                bar.close()
        for ctx in contexts.values():
            s = self.summary
            s.requests += ctx.usage.requests
            s.cache_hits += ctx.usage.cached
            s.prompt_tokens += ctx.usage.prompt_tokens
            s.completion_tokens += ctx.usage.completion_tokens
        self.summary.wall_seconds = time.perf_counter() - t0
        if fatal:
            raise fatal[0]
        return self.summary

    def _fatal(self, exc: BaseException) -> BaseException:
        if isinstance(exc, sqlite3.Error):
            cache = getattr(getattr(self.backend, "cache", None), "path", "the request cache")
            return output_error(cache, exc)
        if isinstance(exc, OSError) and not isinstance(exc, MoudError):
            return output_error(self.out, exc)
        return exc

    async def _dialogue(self, ctx: StepContext, language: str, index: int) -> dict:
        plan = plan_dialogue(self.cfg, language, index, self.taxonomy, self.events, self.demos)
        local = ctx.fork()
        try:
            parts = await make_dialogue(local, plan)
        except DialogueFailure as exc:
            self._merge_usage(ctx, local)
            return {"failure": {"id": make_row_id(language, index), "language": language, "index": index,
                                "step": exc.step, "reason": exc.reason, "detail": exc.detail,
                                "retryable": exc.retryable, "rejected_outputs": exc.rejected_outputs,
                                "dialogue_seed": plan.dialogue_seed, "generator_model": self.backend.model,
                                "prompt_version": self.prompts.version, "run_fingerprint": self.cfg.fingerprint}}
        self._merge_usage(ctx, local)
        u = local.usage
        row = {
            "id": make_row_id(language, index),
            "language": language,
            "speech_event": plan.speech_event.id,
            "persona_a": parts["persona_a"],
            "persona_b": parts["persona_b"],
            "common_ground": parts["common_ground"],
            "turns": parts["turns"],
            "split_group": split_group_for(language, parts["persona_a"], parts["persona_b"]),
            "metadata": {
                "generator_model": self.backend.model,
                "backend": self.backend_info.get("backend", self.backend.name),
                "prompt_version": self.prompts.version,
                "library_version": __version__,
                "run_fingerprint": self.cfg.fingerprint,
                "seed": self.cfg["seed"],
                "dialogue_seed": plan.dialogue_seed,
                "first_speaker": plan.first_speaker,
                "persona_a_categories": plan.categories_a,
                "persona_b_categories": plan.categories_b,
                "sampling": {step: self.cfg.sampling[step].to_dict()
                             for step in ("persona", "common_ground", "dialogue")},
                "prompt_tokens": u.prompt_tokens,
                "completion_tokens": u.completion_tokens,
                "num_requests": u.requests,
                "generation_seconds": round(u.seconds, 3),
                "stop_reason": parts["stop_reason"],
                "inline_gates": parts["inline_gates"],
                "step_attempts": parts["step_attempts"],
                "rejected_outputs": parts["rejected_outputs"],
                "reasoning_tokens": parts["reasoning_tokens"],
                "lid_scores": [],
            },
        }
        return {"row": row}

    @staticmethod
    def _merge_usage(ctx: StepContext, local: StepContext) -> None:
        for f in ("prompt_tokens", "completion_tokens", "requests", "cached", "seconds"):
            setattr(ctx.usage, f, getattr(ctx.usage, f) + getattr(local.usage, f))

    def _write_unit(self, unit: WorkUnit, results: dict[int, dict]) -> None:
        rows, failures, drops = [], [], []
        for index in sorted(results):
            item = results[index]
            if "failure" in item:
                failures.append(item["failure"])
                continue
            row = item["row"]
            if self.row_filter is not None:
                kept, drop = self.row_filter(row)
                if not kept:
                    drops.append(drop)
                    continue
            rows.append(row)
        lang = unit.language
        if self.row_filter is not None:
            _write_jsonl(self.out / "drops" / lang / unit.name, drops)
        _write_jsonl(self.out / "failures" / lang / unit.name, failures)
        _write_jsonl(self.out / "shards" / lang / unit.name, rows)  # written last: marks the unit done
        s = self.summary
        s.made += len(rows)
        s.failed += len(failures)
        s.per_language[lang]["made"] += len(rows)
        s.per_language[lang]["failed"] += len(failures)
        if drops:
            s.per_language[lang]["dropped"] = s.per_language[lang].get("dropped", 0) + len(drops)
        for f in failures:
            s.failure_reasons[f"{f['step']}/{f['reason']}"] += 1

    def _make_bars(self, pending: list[WorkUnit]):
        if not self.progress or not pending or not sys.stderr.isatty():  # no bars drawn into log files
            return None
        from tqdm.auto import tqdm

        totals = Counter()
        for u in pending:
            totals[u.language] += u.stop - u.start
        bars = {}
        for pos, lang in enumerate(sorted(totals, key=self.languages.index)):
            bars[lang] = tqdm(total=totals[lang], desc=f"{lang}", unit="dlg", position=pos, leave=True,
                              dynamic_ncols=True)
            bars[lang].t_start = time.perf_counter()
        return bars

    @staticmethod
    def _tick(bar, ctx: StepContext) -> None:
        bar.update(1)
        elapsed = max(1e-6, time.perf_counter() - bar.t_start)
        bar.set_postfix_str(f"{ctx.usage.completion_tokens / elapsed:.0f} tok/s", refresh=False)


def _write_jsonl(path: Path, rows: list) -> None:
    try:
        write_jsonl_atomic(path, rows)
    except OSError as exc:
        raise output_error(path, exc) from None


def write_manifest(out: Path, manifest: dict, summary: RunSummary | None, status: str, registry=None,
                   name: str = MANIFEST, extra: dict | None = None) -> None:
    """Write ``out/name`` atomically: the manifest, its status, the last run's summary and the
    per-language counts of what is in the folder now."""
    data = dict(manifest)
    data["status"] = status
    if extra:
        data.update(extra)
    if summary is not None:
        data["last_run"] = summary.to_dict()
    data["languages"] = _count_outputs(out)
    path = out / name
    try:
        atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    except OSError as exc:
        raise output_error(path, exc) from None


def _count_outputs(out: Path) -> dict:
    counts: dict = {}
    for kind in ("shards", "failures", "drops"):
        base = out / kind
        if not base.is_dir():
            continue
        for lang_dir in sorted(p for p in base.iterdir() if p.is_dir()):
            n = 0
            files = sorted(lang_dir.glob("shard-*.jsonl"))
            for f in files:
                with open(f, "rb") as fh:
                    n += sum(1 for line in fh if line.strip())
            entry = counts.setdefault(lang_dir.name, {})
            entry[{"shards": "dialogues", "failures": "failed", "drops": "dropped"}[kind]] = n
            if kind == "shards":
                entry["shard_files"] = len(files)
    return counts
