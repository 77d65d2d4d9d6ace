"""``moud generate``: personas -> common ground -> dialogues for many languages, resumable."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from moud_core.errors import ConfigError

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

  # scale out: worker 3 of 16 (Slurm array / Kubernetes indexed job), all sharing one folder:
  moud generate --config run.yaml --out runs/big --num-shards 16 --shard-index 3
  moud merge --inputs runs/big --out runs/big-merged

  # or as Ray tasks across a cluster (pip install 'moud[ray]'):
  moud generate --config run.yaml --out /shared/runs/big --executor ray --ray-address auto

Re-running the same command resumes: finished shards are kept and completed requests come from the
cache (RUN/cache.sqlite). Outputs: RUN/shards/<lang>/shard-NNNNN.jsonl, RUN/failures/<lang>/...,
RUN/manifest.json (RUN/manifest-IIIII.json for worker I of a sharded run). See docs/scale.md."""


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Synthesize PersonaChat-style dialogues directly in the target languages: an LLM writes "
                          "two personas, a narrator writes their common ground, and two role-play instances talk.")
    parser.epilog = EXAMPLE
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--config", help="YAML run config (see docs/generation.md); flags override it")
    parser.add_argument("--out", help="run folder (created; re-using it resumes); required unless --show-prompts")
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
    parser.add_argument("--no-inline-gates", action="store_true",
                        help="do not check each persona, common ground and turn with the quality gates as it is "
                             "generated (on by default: a rejected output is asked again with a new seed)")
    parser.add_argument("--on-truncated", choices=["trim", "regenerate"],
                        help="an answer cut at max_tokens: trim to its last complete sentence (default; asked "
                             "again when none is complete) or always ask again")
    parser.add_argument("--filter", action="store_true", help="apply the quality gates inline (drops recorded)")
    parser.add_argument("--filter-config", help="quality-gate config YAML for --filter")
    parser.add_argument("--no-cache", action="store_true", help="do not use the request cache")
    parser.add_argument("--overwrite", action="store_true", help="delete previous output in --out first")
    parser.add_argument("--allow-mixed-configs", action="store_true",
                        help="allow adding output of a changed config to an existing run folder")
    parser.add_argument("--num-shards", type=int, default=1,
                        help="split the work into N independent parts (by language and dialogue index)")
    parser.add_argument("--shard-index", type=int, default=0,
                        help="which part (0..N-1) this process makes; workers may share --out")
    parser.add_argument("--executor", choices=["local", "ray"], default="local",
                        help="local: this process (default); ray: work units as Ray tasks (pip install 'moud[ray]')")
    parser.add_argument("--ray-address", help="ray: cluster address ('auto', ray://HOST:10001); default starts "
                                              "a local Ray instance")
    parser.add_argument("--ray-tasks", type=int, help="ray: number of tasks (default: the cluster's CPUs)")
    parser.add_argument("--ray-max-retries", type=int, default=3,
                        help="ray: retries of a task whose worker died or hit a transient error (default 3)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--show-prompts", action="store_true",
                        help="print the prompts of each language's first dialogue (no LLM call, nothing written)")


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
    if args.no_inline_gates:
        o["inline_gates"] = False
    if args.on_truncated:
        o["on_truncated"] = args.on_truncated
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
    from generation.executors.local import backend_options as options

    return options(cfg, getattr(args, "api_key_env", None))


def run(args) -> int:
    import sqlite3

    from generation.config import load_run_config
    from generation.runner import output_error

    cfg = load_run_config(args.config, overrides_from_args(args))
    if args.show_prompts:
        return show_prompts(cfg)
    if not args.out:
        raise ConfigError("--out is required: the run folder to write (or resume)")
    out = Path(args.out)
    try:
        return _run(args, cfg, out)
    except (OSError, sqlite3.Error) as exc:
        raise output_error(out, exc) from None


def _run(args, cfg, out: Path) -> int:
    from generation.executors.local import RunSpec, backend_options, execute_units, inline_filter
    from generation.output_checks import load_text_gates
    from generation.runner import (
        RunSummary,
        cache_name,
        manifest_name,
        plan_units,
        prepare_output,
        select_units,
        write_manifest,
    )
    from moud_core.languages import load_registry, parse_language_list

    registry = load_registry([cfg["languages_file"]] if cfg["languages_file"] else [])
    languages = parse_language_list(cfg["languages"], registry)
    all_units = plan_units(languages, cfg["dialogues_per_language"], cfg["shard_size"])
    units = select_units(all_units, args.num_shards, args.shard_index)
    name = manifest_name(args.num_shards, args.shard_index)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file, expected a folder")
    executor = None
    if args.executor == "ray":
        from generation.executors.ray_executor import RayExecutor

        executor = RayExecutor(address=args.ray_address, tasks=args.ray_tasks, max_retries=args.ray_max_retries,
                               progress=not args.quiet and sys.stderr.isatty())
    manifest = prepare_output(out, cfg, overwrite=args.overwrite, allow_mixed=args.allow_mixed_configs,
                              name=name, units=units)
    backend_options(cfg, getattr(args, "api_key_env", None))  # refuse secrets / missing key env up front
    row_filter = inline_filter(cfg, registry) if cfg["filter"] else None  # bad filter config fails early
    text_gates = load_text_gates(cfg, registry) if executor is None else None  # (Ray tasks load their own)
    out.mkdir(parents=True, exist_ok=True)
    worker = {"num_shards": args.num_shards, "shard_index": args.shard_index, "units": len(units),
              "executor": args.executor}
    spec = RunSpec(config=cfg.to_dict(), fingerprint=cfg.fingerprint, out=str(out), languages=languages,
                   cache_file=cache_name(args.num_shards, args.shard_index) if cfg["cache"] else None,
                   api_key_env=getattr(args, "api_key_env", None), quiet=args.quiet)
    write_manifest(out, manifest, None, "running", name=name, extra={"worker": worker})
    try:
        if executor is not None:
            summary = executor.run(spec, units)
        else:
            summary = (execute_units(spec, units, cfg=cfg, row_filter=row_filter, text_gates=text_gates)
                       if units else RunSummary())
    except BaseException as exc:
        with contextlib.suppress(Exception):  # best effort: the disk may be full
            write_manifest(out, manifest, None, "failed", name=name,
                           extra={"worker": worker, "error": " ".join(str(exc).split())[:500]})
        raise
    done = [u for u in all_units if (out / "shards" / u.language / u.name).exists()]
    complete = set(units) <= set(done)
    worker["run_units_done"] = f"{len(done)}/{len(all_units)}"
    write_manifest(out, manifest, summary, "complete" if complete else "partial", name=name,
                   extra={"worker": worker})
    print(summary.render(), file=sys.stderr)
    if args.num_shards > 1:
        print(f"worker {args.shard_index}/{args.num_shards}: {len(units)} unit(s); whole run {len(done)}/"
              f"{len(all_units)} units done; combine with `moud merge --inputs {out} --out MERGED`",
              file=sys.stderr)
    return 0


def show_prompts(cfg) -> int:
    """Render the three prompts of dialogue 0 for every language, as the backend would receive them."""
    from generation.prompts import PromptSet, load_demonstrations
    from generation.steps import plan_dialogue
    from moud_core.languages import load_registry, parse_language_list
    from moud_core.taxonomy import load_persona_taxonomy, load_speech_events

    registry = load_registry([cfg["languages_file"]] if cfg["languages_file"] else [])
    prompts = PromptSet.load(cfg["prompt_version"])
    taxonomy, events, demos = load_persona_taxonomy(), load_speech_events(), load_demonstrations(cfg["demos"])
    placeholder = [f"<persona {w} sentence {i + 1}>" for w in "AB" for i in range(cfg["persona"]["sentences"])]
    pa, pb = placeholder[: len(placeholder) // 2], placeholder[len(placeholder) // 2:]
    for code in parse_language_list(cfg["languages"], registry):
        lang = registry[code]
        plan = plan_dialogue(cfg, code, 0, taxonomy, events, demos)
        own = pa if plan.first_speaker == "A" else pb
        sections = [
            ("persona A", prompts.persona_messages(lang, plan.categories_a, cfg["persona"]["sentences"], plan.demos_a)),
            ("common ground", prompts.common_ground_messages(lang, pa, pb, plan.speech_event)),
            (f"dialogue, first turn (speaker {plan.first_speaker})",
             prompts.dialogue_messages(lang, own, "<common ground>", plan.speech_event, [])),
        ]
        print(f"######## {code} ({lang.name}) — dialogue 0, speech event {plan.speech_event.id}, "
              f"prompt version {prompts.version}")
        for title, messages in sections:
            print(f"==== {title}")
            for m in messages:
                print(f"--- [{m['role']}]\n{m['content']}")
        print()
    return 0
