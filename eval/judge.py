"""One ``moud judge`` run: items from shards -> the judge -> ``OUT/judgments.jsonl`` +
``OUT/judge_manifest.json``.

The request cache (``OUT/cache.sqlite``) makes a re-run resume. A run in which no item could be judged
(every request failed: server down, wrong model, unparsable answers) still writes its judgments and
manifest, so the failures can be read, then raises a one-line MoudError (the command exits non-zero).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from eval.items import iter_items, row_counts
from eval.judge_batches import Judge, JudgeConfig
from moud_core.atomic import atomic_open, atomic_write_text
from moud_core.backends.factory import make_backend
from moud_core.errors import MoudError, os_error
from moud_core.jsonl import dumps_line
from moud_core.outdir import os_errors, prepare_out_dir

JUDGMENTS_FILE = "judgments.jsonl"
MANIFEST_FILE = "judge_manifest.json"
CACHE_FILE = "cache.sqlite"

USAGE_KEYS = ("requests", "cache_hits", "prompt_tokens", "completion_tokens")


@dataclass
class JudgeJob:
    """What to judge and where the answers go (the judge's own settings are in ``JudgeConfig``)."""

    shards: str | Path
    out: Path
    kinds: list[str]
    backend: str
    backend_options: dict
    languages: list[str] | None = None
    max_rows_per_language: int | None = None
    cache: bool = True
    quiet: bool = False


@dataclass
class JudgeResult:
    ok: int
    failed: int
    languages: int
    reasons: dict
    cached: bool
    judgments: Path
    manifest: Path

    def summary(self) -> str:
        n = self.ok + self.failed
        return (
            f"judged {n} item(s) in {self.languages} language(s): {self.ok} ok, {self.failed} judge "
            f"failure(s) ({self.failed / max(1, n):.1%}); wrote {self.judgments}"
            + ("" if self.cached else " (no request cache)")
        )


def count_items(shards, languages, kinds, max_rows) -> int:
    """Items the run will judge (for the progress bar): rows per language x items per row."""
    per_lang = row_counts(shards, languages)
    per_row = sum(2 if k == "persona" else 1 for k in kinds)
    return sum(min(n, max_rows) if max_rows is not None else n for n in per_lang.values()) * per_row


def _with_cache(backend, job: JudgeJob):
    if not job.cache:
        return backend
    from moud_core.backends.cache import CachedBackend

    try:
        return CachedBackend(backend, job.out / CACHE_FILE)
    except (OSError, sqlite3.Error) as exc:
        raise os_error(job.out / CACHE_FILE, exc, "open") from None


def run_judge(config: JudgeConfig, job: JudgeJob) -> JudgeResult:
    """Judge the items of ``job`` and write the judgments and the manifest; raises MoudError (after
    writing both) when no item could be judged."""
    total = count_items(job.shards, job.languages, job.kinds, job.max_rows_per_language) * config.repeats
    created = not Path(job.out).exists()
    out = prepare_out_dir(job.out)
    counts: Counter = Counter()
    reasons: Counter = Counter()
    usage: dict = {}

    async def main() -> None:
        backend = make_backend(job.backend, config.judge_model, **job.backend_options)
        bar = tqdm(total=total, unit="item", desc="judge", disable=job.quiet)
        try:
            await backend.check()  # an unreachable server or unknown model: one line, no cache file made
            backend = _with_cache(backend, job)
            judge = Judge(backend, config)
            with os_errors(out / JUDGMENTS_FILE), atomic_open(out / JUDGMENTS_FILE) as fh:

                def write(records: list[dict]) -> None:
                    for r in records:
                        fh.write(dumps_line(r) + "\n")
                        counts[(r["language"], r["status"])] += 1
                        if r["status"] != "ok":
                            reasons[r["failure_reason"]] += 1
                    bar.update(len(records))

                items = iter_items(job.shards, job.kinds, job.languages, job.max_rows_per_language)
                await judge.ajudge(items, write)
        finally:
            bar.close()
            stats = backend.stats()
            usage.update({k: stats.get(k, 0) for k in USAGE_KEYS})
            await backend.aclose()

    try:
        asyncio.run(main())
    except BaseException:
        if created and not any(out.iterdir()):
            out.rmdir()  # nothing was written: leave no empty folder behind
        raise
    langs = sorted({lang for lang, _ in counts})
    per_lang = {lang: {"ok": counts[(lang, "ok")], "failed": counts[(lang, "failed")]} for lang in langs}
    n_ok, n_failed = sum(v["ok"] for v in per_lang.values()), sum(v["failed"] for v in per_lang.values())
    manifest = {
        "config": config.describe(),
        "cache": job.cache,
        "records": n_ok + n_failed,
        "ok": n_ok,
        "failed": n_failed,
        "failure_reasons": dict(sorted(reasons.items())),
        "languages": per_lang,
        "usage": usage,  # this run's requests (cache hits included) and tokens, for forecasts and cost
    }
    with os_errors(out / MANIFEST_FILE):
        atomic_write_text(out / MANIFEST_FILE, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    result = JudgeResult(
        n_ok, n_failed, len(langs), dict(reasons), job.cache, out / JUDGMENTS_FILE, out / MANIFEST_FILE
    )
    if n_ok == 0:
        raise MoudError(nothing_judged(result))
    return result


def nothing_judged(result: JudgeResult) -> str:
    if not result.failed:
        return f"nothing to judge: no items in the shards; wrote {result.manifest}"
    why = ", ".join(f"{k}: {v}" for k, v in sorted(result.reasons.items(), key=lambda kv: -kv[1]))
    return (
        f"no item could be judged: all {result.failed} judge request(s) failed ({why}); the failures are "
        f"in {result.judgments} and {result.manifest}"
    )
