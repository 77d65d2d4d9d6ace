"""``moud generate``: personas -> common ground -> dialogues for many languages, resumable."""

from __future__ import annotations

import argparse
import sys

from generation.config import DEFAULTS
from moud_core.backends.from_flags import add_backend_arguments, options_from_flags
from moud_core.cli_help import describe
from moud_core.config_merge import set_dotted
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
cache (RUN/cache.sqlite); --retry-failed also makes again the dialogues whose output was rejected, with
new seeds. Outputs: RUN/shards/<lang>/shard-NNNNN.jsonl, RUN/failures/<lang>/...,
RUN/manifest.json (RUN/manifest-IIIII.json for worker I of a sharded run). See docs/scale.md."""  # noqa: E501 (verbatim help)


DESCRIPTION = (
    "Synthesize PersonaChat-style dialogues directly in the target languages: an LLM writes "
    "two personas, a narrator writes their common ground, and two role-play instances talk."
)


def build_parser(parser: argparse.ArgumentParser) -> None:
    describe(parser, DESCRIPTION, EXAMPLE)
    parser.add_argument("--config", help="YAML run config (see docs/generation.md); flags override it")
    parser.add_argument(
        "--out", help="run folder (created; re-using it resumes); required unless --show-prompts"
    )
    parser.add_argument(
        "--languages",
        help="comma-separated codes, or 'all' = every registered language (the 29 defaults and those of "
        "--languages-file) (default "
        f"{','.join(DEFAULTS['languages'])})",
    )
    parser.add_argument(
        "--dialogues", type=int, help=f"dialogues per language (default {DEFAULTS['dialogues_per_language']})"
    )
    parser.add_argument("--seed", type=int, help=f"run seed (default {DEFAULTS['seed']})")
    add_backend_arguments(parser, default_backend=None)
    parser.add_argument(
        "--model", help=f"model name (served name for openai) or local path (default {DEFAULTS['model']})"
    )
    parser.add_argument(
        "--concurrency", type=int, help=f"dialogues in flight (default {DEFAULTS['concurrency']})"
    )
    parser.add_argument(
        "--demos", help="PersonaChat or XPersona-English JSON with English demonstration personas"
    )
    parser.add_argument(
        "--num-demos", type=int, help=f"demonstrations per persona prompt (default {DEFAULTS['num_demos']})"
    )
    parser.add_argument(
        "--languages-file", help="YAML adding or overriding languages (same fields as the registry)"
    )
    parser.add_argument(
        "--prompt-version",
        help=f"shipped prompt version or a YAML template file (default {DEFAULTS['prompt_version']})",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config field, e.g. dialogue.max_turns=20 (repeatable)",
    )
    parser.add_argument(
        "--no-inline-gates",
        action="store_true",
        help="do not check each persona, common ground and turn with the quality gates as it is "
        "generated (on by default: a rejected output is asked again with a new seed)",
    )
    parser.add_argument(
        "--on-truncated",
        choices=["trim", "regenerate"],
        help="an answer cut at max_tokens: trim to its last complete sentence (default; asked "
        "again when none is complete) or always ask again",
    )
    parser.add_argument(
        "--filter", action="store_true", help="apply the quality gates inline (drops recorded)"
    )
    parser.add_argument("--filter-config", help="quality-gate config YAML for --filter")
    parser.add_argument("--no-cache", action="store_true", help="do not use the request cache")
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="also make again dialogues whose output failed (parse or gate failures); backend "
        "failures (server down, timeouts) are always retried on a re-run",
    )
    parser.add_argument("--overwrite", action="store_true", help="delete previous output in --out first")
    parser.add_argument(
        "--allow-mixed-configs",
        action="store_true",
        help="allow adding output of a changed config to an existing run folder",
    )
    parser.add_argument(
        "--num-shards",
        type=int,
        default=1,
        help="split the work into N independent parts (by language and dialogue index)",
    )
    parser.add_argument(
        "--shard-index",
        type=int,
        default=0,
        help="which part (0..N-1) this process makes; workers may share --out",
    )
    parser.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="local: this process (default); ray: work units as Ray tasks (pip install 'moud[ray]')",
    )
    parser.add_argument(
        "--ray-address",
        help="ray: cluster address ('auto', ray://HOST:10001); default starts a local Ray instance",
    )
    parser.add_argument("--ray-tasks", type=int, help="ray: number of tasks (default: the cluster's CPUs)")
    parser.add_argument(
        "--ray-max-retries",
        type=int,
        default=3,
        help="ray: retries of a task whose worker died or hit a transient error (default %(default)s)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument(
        "--show-prompts",
        action="store_true",
        help="print the prompts of each language's first dialogue (no LLM call, nothing written)",
    )


def _parse_value(text: str):
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def overrides_from_args(args) -> dict:
    o: dict = {}
    if args.languages is not None:
        o["languages"] = args.languages
    for key, attr in (
        ("dialogues_per_language", "dialogues"),
        ("seed", "seed"),
        ("backend", "backend"),
        ("model", "model"),
        ("concurrency", "concurrency"),
        ("demos", "demos"),
        ("num_demos", "num_demos"),
        ("languages_file", "languages_file"),
        ("prompt_version", "prompt_version"),
        ("filter_config", "filter_config"),
    ):
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
    bo = options_from_flags(args)
    if bo:
        o["backend_options"] = bo
    for item in args.set:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. dialogue.max_turns=20")
        key, value = item.split("=", 1)
        set_dotted(o, key.strip(), _parse_value(value))
    return o


def run(args) -> int:
    from generation.config import load_run_config
    from generation.generate import Sharding, generate

    cfg = load_run_config(args.config, overrides_from_args(args))
    if args.show_prompts:
        from generation.show_prompts import show_prompts

        return show_prompts(cfg)
    if not args.out:
        raise ConfigError("--out is required: the run folder to write (or resume)")
    if cfg["dialogues_per_language"] < 1:
        where = "--dialogues" if args.dialogues is not None else cfg.origin("dialogues_per_language")
        raise ConfigError(f"{where}: expected at least 1 dialogue per language, got 0 (nothing to make)")
    executor = None
    if args.executor == "ray":
        from generation.executors.ray_executor import RayExecutor

        executor = RayExecutor(
            address=args.ray_address,
            tasks=args.ray_tasks,
            max_retries=args.ray_max_retries,
            progress=not args.quiet and sys.stderr.isatty(),
        )
    result = generate(
        cfg,
        args.out,
        sharding=Sharding(args.num_shards, args.shard_index),
        executor=executor,
        overwrite=args.overwrite,
        allow_mixed=args.allow_mixed_configs,
        api_key_env=args.api_key_env,
        quiet=args.quiet,
        retry_failed=args.retry_failed,
    )
    print(result.summary.render(), file=sys.stderr)
    if result.status == "partial":
        print(
            f"some dialogues are still to make (e.g. the server failed): re-run the same command to resume "
            f"{args.out}",
            file=sys.stderr,
        )
    if result.output_failures and not args.retry_failed:
        print(
            f"{result.output_failures} dialogue(s) in {args.out} failed on the model's output (failures/): "
            "--retry-failed makes them again with new seeds; a changed setting (another --model, --set ...) "
            "needs a new --out or --overwrite",
            file=sys.stderr,
        )
    if args.num_shards > 1:
        print(
            f"worker {args.shard_index}/{args.num_shards}: {result.units} unit(s); whole run "
            f"{result.units_done}/{result.units_planned} units done; combine with `moud merge --inputs "
            f"{args.out} --out MERGED`",
            file=sys.stderr,
        )
    return 0
