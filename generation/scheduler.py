"""``GenerationRun``: keeps up to ``concurrency`` dialogues in flight and writes each work unit once all of
its dialogues are made or have failed.

A unit's files are written atomically, failures and drops first and the shard last, so a shard file on
disk means the unit was written whole. A re-run makes only what a unit still lacks (``unit_state``), and
every request that had completed before a crash is answered from the request cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

from generation.config import RunConfig
from generation.dialogue_plan import plan_dialogue
from generation.gate_process import can_fork_worker, gate_worker
from generation.output_checks import OutputChecker, load_text_gates
from generation.prompts import PromptSet, load_demonstrations
from generation.rows import failed_dialogue, made_row
from generation.steps import DialogueFailure, StepContext, make_dialogue
from generation.summary import RunSummary
from generation.unit_state import UnitState, unit_state
from generation.units import WorkUnit, plan_units
from moud_core.backends.base import Backend
from moud_core.errors import MoudError, os_error
from moud_core.forked_worker import ForkedWorker, WorkerDied
from moud_core.languages import Language
from moud_core.runfolder import DROPS, FAILURES, KINDS, SHARDS, RunFolder
from moud_core.taxonomy import load_persona_taxonomy, load_speech_events


class PreflightError(MoudError):
    """The backend's check before the first request failed (server unreachable, model not served)."""


class GenerationRun:
    def __init__(
        self,
        cfg: RunConfig,
        out: str | Path,
        backend: Backend,
        registry: dict[str, Language],
        languages: list[str],
        units: list[WorkUnit] | None = None,
        quiet: bool = False,
        row_filter=None,
        progress: bool = True,
        retry_failed: bool = False,
        text_gates=None,
    ):
        self.cfg, self.backend, self.registry = cfg, backend, registry
        self.folder = RunFolder.at(out)
        self.languages = languages
        self.units = (
            units
            if units is not None
            else plan_units(languages, cfg["dialogues_per_language"], cfg["shard_size"])
        )
        self.progress = progress and not quiet
        self.row_filter = row_filter  # optional callable(row) -> (kept: bool, drop_record | None)
        self.retry_failed = retry_failed
        self.text_gates = text_gates if text_gates is not None else load_text_gates(cfg, registry)
        if self.text_gates is not None:
            self.text_gates.warm(languages)
        self.prompts = PromptSet.load(cfg["prompt_version"])
        self.taxonomy = load_persona_taxonomy()
        self.events = load_speech_events()
        self.demos = load_demonstrations(cfg["demos"])
        self.summary = RunSummary()
        self.backend_info = backend.describe()

    @property
    def out(self) -> Path:
        return self.folder.root

    def states(self) -> list[UnitState]:
        """Every unit of this run with what it still lacks."""
        return [unit_state(self.folder, u, self.retry_failed) for u in self.units]

    def _remove_stale_temp_files(self, pending: list[UnitState]) -> None:
        """A process killed inside an atomic write leaves ``.shard-NNNNN.jsonl.*.tmp`` behind. Only this
        run's own pending units are cleaned, so workers sharing the folder never touch each other's."""
        for state in pending:
            unit = state.unit
            for kind in KINDS:
                lang_dir = self.folder.kind_dir(kind) / unit.language
                if lang_dir.is_dir():
                    for stale in lang_dir.glob(f".{unit.name}.*.tmp"):
                        stale.unlink(missing_ok=True)

    async def run(self) -> RunSummary:
        """Make every pending dialogue (``_run``), the inline gates in a worker process when there is one."""
        t0 = time.perf_counter()
        pending = [s for s in self.states() if not s.done]
        async with self._gate_worker(bool(pending)) as worker:
            self.summary.gate_process = worker is not None
            self.summary.inline_gates = (self.text_gates is not None) if pending else None
            return await self._run(pending, worker, t0)

    @contextlib.asynccontextmanager
    async def _gate_worker(self, needed: bool) -> AsyncIterator[ForkedWorker | None]:
        """A worker process checking outputs with this run's gates (``gate_process``), forked now, while this
        process has no other thread; None when nothing is ``needed`` (no pending work), the gates are off,
        ``gate_process`` is false, the platform has no fork, fewer than 2 CPUs are available or another
        thread runs (forking then is unsafe)."""
        wanted = needed and self.text_gates is not None and self.cfg["gate_process"]
        if not (wanted and can_fork_worker()) or threading.active_count() > 1:
            yield None
            return
        async with gate_worker(self.text_gates) as worker:
            yield worker

    async def _run(self, pending: list[UnitState], worker: ForkedWorker | None, t0: float) -> RunSummary:
        """Make the ``pending`` units' dialogues (timed from ``t0``). The first fatal error (output folder
        unwritable, disk full, request cache broken, a bug) stops the run: no new dialogues start, those in
        flight are cancelled, no partial file is left, and the error is raised (OSError/sqlite3 errors as a
        one-line MoudError)."""
        self.summary.skipped_units = len(self.units) - len(pending)
        self._remove_stale_temp_files(pending)
        if pending:
            try:
                await self.backend.check()
            except MoudError as exc:
                raise PreflightError(str(exc)) from None
        bars = self._make_bars(pending)
        sem = asyncio.Semaphore(self.cfg["concurrency"])
        contexts = {
            lang: StepContext(
                self.backend,
                self.prompts,
                self.cfg,
                self.registry[lang],
                OutputChecker(lang, self.text_gates, self.cfg["on_truncated"], worker),
            )
            for lang in {s.unit.language for s in pending}
        }
        waiting = {s.unit: len(s.todo) for s in pending}
        results = {s.unit: dict(s.kept) for s in pending}
        tasks: set[asyncio.Task] = set()
        fatal: list[BaseException] = []
        finished = asyncio.Event()
        scheduling = True

        seeds = {s.unit: s.seeds for s in pending}

        async def one(unit: WorkUnit, index: int) -> None:
            try:
                try:
                    item = await self._dialogue(
                        contexts[unit.language], unit.language, index, seeds[unit].get(index)
                    )
                finally:
                    sem.release()
                results[unit][index] = item
                waiting[unit] -= 1
                if not waiting[unit]:
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
            for state in pending:
                for index in state.todo:
                    await sem.acquire()
                    if fatal:
                        break
                    task = asyncio.create_task(one(state.unit, index))
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
            s.rejected_prompt_tokens += ctx.usage.rejected_prompt_tokens
            s.rejected_completion_tokens += ctx.usage.rejected_completion_tokens
        self.summary.wall_seconds = time.perf_counter() - t0
        if fatal:
            raise fatal[0]
        return self.summary

    def _fatal(self, exc: BaseException) -> BaseException:
        if isinstance(exc, WorkerDied):
            return MoudError(
                "the inline gates' worker process died (out of memory?); run the same command again to "
                "resume, with --set gate_process=false to check in this process"
            )
        if isinstance(exc, sqlite3.Error):
            return os_error(getattr(getattr(self.backend, "cache", None), "path", "the request cache"), exc)
        if isinstance(exc, OSError) and not isinstance(exc, MoudError):
            return os_error(self.out, exc)
        return exc

    async def _dialogue(self, ctx: StepContext, language: str, index: int, seed: int | None = None) -> dict:
        plan = plan_dialogue(self.cfg, language, index, self.taxonomy, self.events, self.demos, seed)
        local = ctx.fork()
        try:
            parts = await make_dialogue(local, plan)
        except DialogueFailure as exc:
            return {"failure": failed_dialogue(plan, exc, self)}
        finally:
            ctx.usage.merge(local.usage)
            self.summary.count_rejections(local.log.rejected)
        return {"row": made_row(plan, parts, local.usage, self)}

    def _write_unit(self, unit: WorkUnit, results: dict[int, dict]) -> None:
        """Write one unit from its results by index (those found on disk are marked ``kept``)."""
        rows, failures, drops, fresh_failures = [], [], [], []
        made = dropped = 0
        for index in sorted(results):
            item = results[index]
            old = item.get("kept", False)
            if "failure" in item:
                failures.append(item["failure"])
                if not old:
                    fresh_failures.append(item["failure"])
            elif "drop" in item:
                drops.append(item["drop"])
            else:
                row = item["row"]
                if not old and self.row_filter is not None:
                    kept, drop = self.row_filter(row)
                    if not kept:
                        drops.append(drop)
                        dropped += 1
                        continue
                rows.append(row)
                made += not old
        lang = unit.language
        if drops or self.row_filter is not None:
            self.folder.write_unit(DROPS, lang, unit.name, drops)
        self.folder.write_unit(FAILURES, lang, unit.name, failures)
        self.folder.write_unit(SHARDS, lang, unit.name, rows)  # written last: marks the unit written
        self.summary.count_unit(lang, made, fresh_failures, dropped)

    def _make_bars(self, pending: list[UnitState]):
        if not self.progress or not pending:
            return None
        import sys

        from tqdm.auto import tqdm

        totals = Counter()
        for s in pending:
            totals[s.unit.language] += len(s.todo)
        bars = {}
        for pos, lang in enumerate(sorted(totals, key=self.languages.index)):
            bars[lang] = tqdm(
                total=totals[lang],
                desc=f"{lang}",
                unit="dlg",
                position=pos,
                leave=True,
                dynamic_ncols=True,
                disable=not sys.stderr.isatty(),
            )
            bars[lang].t_start = time.perf_counter()
        return bars

    @staticmethod
    def _tick(bar, ctx: StepContext) -> None:
        bar.update(1)
        elapsed = max(1e-6, time.perf_counter() - bar.t_start)
        bar.set_postfix_str(f"{ctx.usage.completion_tokens / elapsed:.0f} tok/s", refresh=False)
