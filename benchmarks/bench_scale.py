"""Scale-out throughput of `moud generate`: 1, 2 and 4 instant loopback servers (separate processes),
and the Ray executor, on this machine.

Each server is a FakeOpenAIServer + ScriptedCrowdworker (native text, answered instantly) in its own
process; the client is the real pipeline (prompts, parsing, per-request seeds, SQLite request cache,
atomic shards, the multi-endpoint aiohttp backend with least-loaded routing). Reports requests/s (wall),
client CPU per request (the generate process; for Ray the driver only), server CPU per request, and
the 1-minute load average, since other work on the machine makes timings noisy; the configurations are
interleaved over ``--rounds``.

    python -m benchmarks.bench_scale --dialogues 150 --servers 1,2,4 --ray [--json result.json]
    python -m benchmarks.bench_scale --tokens --languages fr,de,zh,ja,ar,sw --dialogues 30   # cost inputs
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_servers import cpu_seconds, start_servers
from benchmarks.harness import finish, interleave, parse, parser, skip, spread_table, summarize_configs


def one_run(urls: list[str], args, executor: str = "local", server_pids: list[int] = ()) -> dict:
    from generation.config import load_run_config
    from generation.executors.local import RunSpec, execute_units
    from generation.run_output import prepare_output
    from generation.units import plan_units

    langs = args.languages.split(",")
    tmp = Path(tempfile.mkdtemp(prefix="moud-bench-scale-"))
    try:
        cfg = load_run_config(
            None,
            {
                "languages": langs,
                "dialogues_per_language": args.dialogues,
                "model": "bench",
                "concurrency": args.concurrency,
                "shard_size": args.shard_size,
                "cache": not args.no_cache,
                "backend_options": {"base_url": urls, "max_concurrency": args.concurrency},
            },
        )
        prepare_output(tmp, cfg)
        spec = RunSpec(
            config=cfg.to_dict(),
            fingerprint=cfg.fingerprint,
            out=str(tmp),
            languages=langs,
            cache_file=None if args.no_cache else "cache.sqlite",
        )
        units = plan_units(langs, args.dialogues, args.shard_size)
        load0 = os.getloadavg()[0]
        srv0 = cpu_seconds(server_pids)
        cpu0, t0 = time.process_time(), time.perf_counter()
        if executor == "ray":
            from generation.executors.ray_executor import RayExecutor

            summary = RayExecutor(tasks=args.ray_tasks, progress=False).run(spec, units)
        else:
            summary = execute_units(spec, units, cfg=cfg)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
        srv1 = cpu_seconds(server_pids)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "executor": executor,
        "servers": len(urls),
        "dialogues": summary.made + summary.failed,
        "requests": summary.requests,
        "wall_s": round(wall, 2),
        "requests_per_s": round(summary.requests / wall, 1),
        "client_cpu_ms_per_request": round(1000 * cpu / max(1, summary.requests), 3),
        "server_cpu_ms_per_request": (
            None
            if srv0 is None or srv1 is None
            else round(1000 * (srv1 - srv0) / max(1, summary.requests), 3)
        ),
        "load_avg_1m_before": round(load0, 2),
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
    }


def measure_dialogue_cost(languages: list[str], dialogues: int) -> dict:
    """Requests, prompt and completion characters per dialogue with our real prompts and the scripted
    crowdworker's native answers (in-process, one dialogue at a time), and the prompt characters a
    prefix cache cannot reuse (each prompt minus its longest common prefix with the 3 previous prompts
    of the same dialogue: the same speaker's previous turn shares system prompt and history)."""
    import asyncio

    from generation.config import load_run_config
    from generation.scheduler import GenerationRun
    from generation.testing.crowdworker import ScriptedCrowdworker
    from generation.testing.local_backend import ResponderBackend
    from moud_core.backends.base import ChatResponse
    from moud_core.languages import load_registry

    class Counting(ResponderBackend):
        def __init__(self):
            super().__init__(ScriptedCrowdworker())
            self.prompt_chars = self.completion_chars = self.uncached_chars = self.n = 0
            self.recent: list[str] = []

        async def chat(self, request) -> ChatResponse:
            resp = await super().chat(request)
            text = "\n".join(f"{r}\x1f{c}" for r, c in request.messages)
            shared = max((len(os.path.commonprefix([text, old])) for old in self.recent), default=0)
            self.recent = [*self.recent[-2:], text]
            self.n += 1
            self.prompt_chars += len(text)
            self.uncached_chars += len(text) - shared
            self.completion_chars += len(resp.text)
            return resp

    per_language = {}
    for lang in languages:
        tmp = Path(tempfile.mkdtemp(prefix="moud-bench-tokens-"))
        try:
            cfg = load_run_config(
                None,
                {"languages": [lang], "dialogues_per_language": dialogues, "concurrency": 1, "cache": False},
            )
            backend = Counting()
            summary = asyncio.run(GenerationRun(cfg, tmp, backend, load_registry(), [lang], quiet=True).run())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        d = max(1, summary.made + summary.failed)
        per_language[lang] = {
            "requests": round(backend.n / d, 1),
            "prompt_chars": round(backend.prompt_chars / d),
            "uncached_prompt_chars": round(backend.uncached_chars / d),
            "completion_chars": round(backend.completion_chars / d),
            "made": summary.made,
            "failed": summary.failed,
        }
    return per_language


def main(argv=None) -> int:
    ap = parser(__doc__)
    ap.add_argument("--dialogues", type=int, default=150, help="dialogues per language")
    ap.add_argument("--languages", default="fr,zh")
    ap.add_argument(
        "--concurrency", type=int, default=256, help="dialogues in flight (and requests per server)"
    )
    ap.add_argument("--shard-size", type=int, default=50)
    ap.add_argument("--servers", default="1,2,4", help="comma-separated server counts to measure")
    ap.add_argument("--ray", action="store_true", help="also measure the Ray executor (local Ray instance)")
    ap.add_argument("--ray-tasks", type=int, default=2)
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument(
        "--tokens",
        action="store_true",
        help="only measure requests/characters per dialogue (for the cost estimate) and exit",
    )
    tiny = {"dialogues": 2, "languages": "fr", "concurrency": 8, "shard_size": 2, "servers": "1,2"}
    args = parse(ap, argv, tiny=tiny)
    if args.tokens:
        cost = measure_dialogue_cost(args.languages.split(","), args.dialogues)
        return finish(args, "bench_scale", {"dialogue_cost": cost})
    if args.ray and importlib.util.find_spec("ray") is None:
        return skip(args, "bench_scale", "ray", "--ray: ray is not installed (pip install -e '.[ray]')")

    counts = [int(x) for x in args.servers.split(",") if x]
    stop, procs, urls = start_servers(max(counts + ([2] if args.ray else [])))
    pids = [p.pid for p in procs]
    configs = {f"{n} server(s)": lambda n=n: one_run(urls[:n], args, server_pids=pids[:n]) for n in counts}
    if args.ray:
        import ray

        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
        configs["ray, 2 servers"] = lambda: one_run(urls[:2], args, executor="ray", server_pids=pids[:2])
    try:
        runs = interleave(configs, args.rounds)
    finally:
        if args.ray:
            ray.shutdown()
        stop.set()
        for p in procs:
            p.join(10)
    for rs in runs.values():
        for r in rs:  # what the client alone could do on one idle core, from its CPU cost per request
            r["client_cpu_bound_requests_per_s_per_core"] = round(
                1000 / max(1e-9, r["client_cpu_ms_per_request"])
            )
    results = {
        "cpu_count": os.cpu_count(),
        "concurrency": args.concurrency,
        "cache": not args.no_cache,
        "configs": summarize_configs(runs),
    }
    if args.tiny:  # the cost measurement too, so the smoke test covers it
        results["dialogue_cost"] = measure_dialogue_cost(["fr"], 1)
    metrics = ["requests_per_s", "client_cpu_ms_per_request", "server_cpu_ms_per_request"]
    return finish(args, "bench_scale", results, spread_table(results["configs"], metrics, digits=3))


if __name__ == "__main__":
    sys.exit(main())
