"""``moud judge``: score personas, common grounds and dialogues from shards with an LLM judge."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from eval.items import ITEM_KINDS, iter_items, shard_files
from eval.judge import Judge, JudgeConfig
from eval.rubric import load_rubric
from moud_core.atomic import atomic_open, atomic_write_text
from moud_core.backends.factory import BACKENDS, make_backend
from moud_core.errors import ConfigError
from moud_core.languages import parse_language_list

JUDGMENTS_FILE = "judgments.jsonl"
MANIFEST_FILE = "judge_manifest.json"

EPILOG = """example:
  moud judge --shards runs/fr-llama --out judged/fr-llama \\
      --judge-model gpt-4o --base-url https://api.openai.com/v1 --api-key-env OPENAI_API_KEY \\
      --kinds dialogue,common_ground --batch-size 4 --repeats 2 --max-rows-per-language 200

writes OUT/judgments.jsonl (one record per item and repeat), OUT/judge_manifest.json (config and
failure counts) and, when the request cache is available, OUT/cache.sqlite (re-running resumes).
"""


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Score personas, common grounds and dialogues with an LLM judge prompted as a native "
                          "speaker of each language, using a rubric from YAML (eval/rubrics/default.yaml).")
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--shards", required=True, help="run/filtered folder, shards/ folder or one .jsonl file")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--judge-model", required=True, help="model name as the server knows it")
    parser.add_argument("--backend", default="openai", choices=BACKENDS, help="generation backend (default openai)")
    parser.add_argument("--base-url", action="append", help="OpenAI-compatible endpoint(s); repeat for several")
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY",
                        help="environment variable holding the API key (the key is never printed or stored)")
    parser.add_argument("--max-concurrency", type=int, help="parallel requests (backend default if omitted)")
    parser.add_argument("--timeout", type=float, help="per-request timeout in seconds")
    parser.add_argument("--max-retries", type=int, help="HTTP retries per request inside the backend")
    parser.add_argument("--rubric", help="rubric YAML (default: eval/rubrics/default.yaml)")
    parser.add_argument("--kinds", default=",".join(ITEM_KINDS), help="item kinds, comma-separated")
    parser.add_argument("--languages", default="all", help="language codes, comma-separated, or 'all'")
    parser.add_argument("--max-rows-per-language", type=int, help="judge only the first N rows per language")
    parser.add_argument("--batch-size", type=int, default=1, help="items per request (default 1)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="judge each batch N times; odd repeats are position-swapped (default 1)")
    parser.add_argument("--max-attempts", type=int, default=3, help="attempts per item before a judge failure")
    parser.add_argument("--temperature", type=float, default=0.0, help="first-attempt temperature (default 0)")
    parser.add_argument("--retry-temperature", type=float, default=0.7, help="temperature of retries")
    parser.add_argument("--max-tokens-per-item", type=int, default=400, help="answer budget per item")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-cache", action="store_true", help="do not use the request cache")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _backend_options(args) -> dict:
    opts = {}
    if args.backend == "openai":
        if args.base_url:
            opts["base_url"] = args.base_url[0] if len(args.base_url) == 1 else list(args.base_url)
        key = os.environ.get(args.api_key_env) if args.api_key_env else None
        if key:
            opts["api_key"] = key
        for name in ("max_concurrency", "timeout", "max_retries"):
            if getattr(args, name) is not None:
                opts[name] = getattr(args, name)
    return opts


def _wrap_cache(backend, path: Path):
    try:
        from moud_core.backends.cache import CachedBackend
    except ImportError:  # moud_core/backends/cache.py not available in this checkout: run uncached
        return backend, False
    return CachedBackend(backend, path), True


def _count_items(shards, languages, kinds, max_rows) -> int:
    per_lang: Counter = Counter()
    for f in shard_files(shards, languages):
        with open(f, encoding="utf-8") as fh:
            per_lang[f.parent.name] += sum(1 for line in fh if line.strip())
    per_row = sum(2 if k == "persona" else 1 for k in kinds)
    return sum(min(n, max_rows) if max_rows is not None else n for n in per_lang.values()) * per_row


def run(args) -> int:
    for name in ("batch_size", "repeats", "max_attempts", "max_tokens_per_item"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')}: expected an integer >= 1, got {getattr(args, name)}")
    if args.max_rows_per_language is not None and args.max_rows_per_language < 1:
        raise ConfigError("--max-rows-per-language: expected an integer >= 1")
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    bad = [k for k in kinds if k not in ITEM_KINDS]
    if bad or not kinds:
        raise ConfigError(f"--kinds: unknown kind(s) {', '.join(bad) or '(none)'}; expected {', '.join(ITEM_KINDS)}")
    languages = None if args.languages == "all" else parse_language_list(args.languages)
    rubric = load_rubric(args.rubric)
    out = Path(args.out)
    config = JudgeConfig(args.judge_model, rubric, seed=args.seed, batch_size=args.batch_size, repeats=args.repeats,
                         max_attempts=args.max_attempts, temperature=args.temperature,
                         retry_temperature=args.retry_temperature, max_tokens_per_item=args.max_tokens_per_item,
                         extra={"backend": args.backend, "kinds": kinds, "shards": str(args.shards)})
    total = _count_items(args.shards, languages, kinds, args.max_rows_per_language) * args.repeats
    counts: Counter = Counter()
    reasons: Counter = Counter()
    out.mkdir(parents=True, exist_ok=True)

    async def main() -> bool:
        backend = make_backend(args.backend, args.judge_model, **_backend_options(args))
        cached = False
        if not args.no_cache:
            backend, cached = _wrap_cache(backend, out / "cache.sqlite")
        judge = Judge(backend, config)
        bar = tqdm(total=total, unit="item", desc="judge", disable=args.quiet or not sys.stderr.isatty())
        try:
            await backend.check()
            with atomic_open(out / JUDGMENTS_FILE) as fh:
                def write(records: list[dict]) -> None:
                    for r in records:
                        fh.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
                        counts[(r["language"], r["status"])] += 1
                        if r["status"] != "ok":
                            reasons[r["failure_reason"]] += 1
                    bar.update(len(records))

                await judge.ajudge(iter_items(args.shards, kinds, languages, args.max_rows_per_language), write)
        finally:
            bar.close()
            await backend.aclose()
        return cached

    cached = asyncio.run(main())
    langs = sorted({lang for lang, _ in counts})
    summary = {lang: {"ok": counts[(lang, "ok")], "failed": counts[(lang, "failed")]} for lang in langs}
    n_ok, n_failed = sum(v["ok"] for v in summary.values()), sum(v["failed"] for v in summary.values())
    manifest = {"config": config.describe(), "cache": cached, "records": n_ok + n_failed, "ok": n_ok,
                "failed": n_failed, "failure_reasons": dict(sorted(reasons.items())), "languages": summary}
    atomic_write_text(out / MANIFEST_FILE, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    rate = n_failed / max(1, n_ok + n_failed)
    print(f"judged {n_ok + n_failed} item(s) in {len(langs)} language(s): {n_ok} ok, {n_failed} judge failure(s) "
          f"({rate:.1%}); wrote {out / JUDGMENTS_FILE}" + ("" if cached else " (no request cache)"))
    return 0
