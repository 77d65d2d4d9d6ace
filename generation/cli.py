"""``moud generate``: personas -> common ground -> dialogues for many languages, resumable."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from generation.errors import ConfigError

EXAMPLE = """\
examples:
  # against an OpenAI-compatible server (vLLM, llama.cpp, TGI, Ollama, OpenAI):
  vllm serve meta-llama/Llama-3.1-8B-Instruct --port 8000
  moud generate --languages fr,ja,sw --dialogues 100 --out runs/demo \\
      --model meta-llama/Llama-3.1-8B-Instruct --base-url http://localhost:8000/v1

  # offline, with a local model directory and transformers:
  moud generate --backend transformers --model ./models/my-chat-model --languages fr --dialogues 5 --out runs/local

  # everything from a YAML run config, with overrides:
  moud generate --config run.yaml --set dialogue.sampling.temperature=0.7 --set persona.sentences=4

Re-running the same command resumes: finished shards are kept and completed requests come from the
cache (RUN/cache.sqlite). Outputs: RUN/shards/<lang>/shard-NNNNN.jsonl, RUN/failures/<lang>/...,
RUN/manifest.json."""


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Synthesize PersonaChat-style dialogues directly in the target languages: an LLM writes "
                          "two personas, a narrator writes their common ground, and two role-play instances talk.")
    parser.epilog = EXAMPLE
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--config", help="YAML run config (see docs/generation.md); flags override it")
    parser.add_argument("--out", required=True, help="run folder (created; re-using it resumes)")
    parser.add_argument("--languages", help="comma-separated codes, or 'all' for the 29 defaults")
    parser.add_argument("--dialogues", type=int, help="dialogues per language")
    parser.add_argument("--seed", type=int, help="run seed (default 0)")
    parser.add_argument("--backend", choices=["openai", "transformers", "vllm"], help="LLM backend (default openai)")
    parser.add_argument("--model", help="model name (served name for openai) or local path")
    parser.add_argument("--base-url", action="append",
                        help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1 (repeat or comma-separate "
                             "for several servers)")
    parser.add_argument("--api-key-env", default=None,
                        help="name of the environment variable holding the API key (default MOUD_API_KEY, then "
                             "OPENAI_API_KEY); keys are never written to disk")
    parser.add_argument("--max-concurrency", type=int, help="openai: requests in flight per server")
    parser.add_argument("--timeout", type=float, help="openai: seconds per request")
    parser.add_argument("--no-system-role", action="store_true",
                        help="fold system prompts into the first user turn (models like Gemma)")
    parser.add_argument("--device", help="transformers: cpu, cuda, cuda:1, auto")
    parser.add_argument("--dtype", help="transformers: auto, float32, bfloat16, float16")
    parser.add_argument("--max-batch-size", type=int, help="transformers/vllm: requests per batch")
    parser.add_argument("--concurrency", type=int, help="dialogues in flight (default 256)")
    parser.add_argument("--demos", help="PersonaChat or XPersona-English JSON with English demonstration personas")
    parser.add_argument("--num-demos", type=int, help="demonstrations per persona prompt (default 3)")
    parser.add_argument("--languages-file", help="YAML adding or overriding languages (same fields as the registry)")
    parser.add_argument("--prompt-version", help="shipped prompt version or a YAML template file")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override any config field, e.g. dialogue.max_turns=20 (repeatable)")
    parser.add_argument("--filter", action="store_true", help="apply the quality gates inline (drops recorded)")
    parser.add_argument("--filter-config", help="quality-gate config YAML for --filter")
    parser.add_argument("--no-cache", action="store_true", help="do not use the request cache")
    parser.add_argument("--overwrite", action="store_true", help="delete previous output in --out first")
    parser.add_argument("--allow-mixed-configs", action="store_true",
                        help="allow adding output of a changed config to an existing run folder")
    parser.add_argument("--num-shards", type=int, default=1, help="split the work into N independent parts")
    parser.add_argument("--shard-index", type=int, default=0, help="which part (0..N-1) this process makes")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _parse_value(text: str):
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def overrides_from_args(args) -> dict:
    from generation.config import set_dotted

    o: dict = {}
    if args.languages:
        o["languages"] = args.languages
    for key, attr in (("dialogues_per_language", "dialogues"), ("seed", "seed"), ("backend", "backend"),
                      ("model", "model"), ("concurrency", "concurrency"), ("demos", "demos"),
                      ("num_demos", "num_demos"), ("languages_file", "languages_file"),
                      ("prompt_version", "prompt_version"), ("filter_config", "filter_config")):
        value = getattr(args, attr, None)
        if value is not None:
            o[key] = value
    if args.filter:
        o["filter"] = True
    if args.no_cache:
        o["cache"] = False
    bo: dict = {}
    if args.base_url:
        urls = [u.strip() for part in args.base_url for u in part.split(",") if u.strip()]
        bo["base_url"] = urls if len(urls) > 1 else urls[0]
    for key, attr in (("max_concurrency", "max_concurrency"), ("timeout", "timeout"), ("device", "device"),
                      ("dtype", "dtype"), ("max_batch_size", "max_batch_size")):
        value = getattr(args, attr, None)
        if value is not None:
            bo[key] = value
    if args.no_system_role:
        bo["system_role"] = False
    if bo:
        o["backend_options"] = bo
    for item in args.set:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. dialogue.max_turns=20")
        key, value = item.split("=", 1)
        set_dotted(o, key.strip(), _parse_value(value))
    return o


def backend_options(cfg, args) -> dict:
    opts = dict(cfg["backend_options"])
    for forbidden in ("api_key", "token"):
        if forbidden in opts:
            raise ConfigError(f"{cfg.source}: backend_options.{forbidden}: do not put secrets in config files; "
                              "set MOUD_API_KEY (or --api-key-env NAME)")
    if cfg["backend"] == "openai":
        env_name = getattr(args, "api_key_env", None)
        if env_name:
            if env_name not in os.environ:
                raise ConfigError(f"--api-key-env {env_name}: environment variable is not set")
            opts["api_key"] = os.environ[env_name]
    else:
        model_path = cfg["model"]
        if cfg["backend"] == "transformers" and not Path(model_path).exists() and "/" not in model_path:
            raise ConfigError(f"model {model_path!r}: no such directory (transformers backend needs a local "
                              "model folder or a Hub id already in the local cache)")
        opts.pop("base_url", None)
        opts.pop("max_concurrency", None)
        opts.pop("timeout", None)
    return opts


def run(args) -> int:
    from generation.backends.factory import make_backend
    from generation.cache import CachedBackend
    from generation.config import load_run_config
    from generation.languages import load_registry, parse_language_list
    from generation.runner import GenerationRun, plan_units, prepare_output, select_units, write_manifest

    cfg = load_run_config(args.config, overrides_from_args(args))
    registry = load_registry([cfg["languages_file"]] if cfg["languages_file"] else [])
    languages = parse_language_list(cfg["languages"], registry)
    out = Path(args.out)
    manifest = prepare_output(out, cfg, overwrite=args.overwrite, allow_mixed=args.allow_mixed_configs)
    out.mkdir(parents=True, exist_ok=True)
    units = select_units(plan_units(languages, cfg["dialogues_per_language"], cfg["shard_size"]),
                         args.num_shards, args.shard_index)
    row_filter = _inline_filter(cfg, registry) if cfg["filter"] else None
    backend = make_backend(cfg["backend"], cfg["model"], **backend_options(cfg, args))
    if cfg["cache"]:
        cache_name = "cache.sqlite" if args.num_shards == 1 else f"cache-{args.shard_index:05d}.sqlite"
        backend = CachedBackend(backend, out / cache_name)
    write_manifest(out, manifest, None, "running")
    gen = GenerationRun(cfg, out, backend, registry, languages, units=units, quiet=args.quiet,
                        row_filter=row_filter)

    async def main():
        try:
            return await gen.run()
        finally:
            await backend.aclose()

    summary = asyncio.run(main())
    complete = all(gen.unit_done(u) for u in plan_units(languages, cfg["dialogues_per_language"], cfg["shard_size"]))
    write_manifest(out, manifest, summary, "complete" if complete else "partial")
    print(summary.render(), file=sys.stderr)
    return 0


def _inline_filter(cfg, registry):
    try:
        from generation.filters.pipeline import FilterPipeline
    except ImportError as exc:  # pragma: no cover - filters are part of the package
        raise ConfigError(f"--filter: quality gates unavailable ({exc})") from None
    pipeline = FilterPipeline.from_config(cfg["filter_config"], registry=registry, inline=True)

    def check(row):
        result = pipeline.check(row)
        return result.kept, (None if result.kept else result.drop_record())

    return check
