"""Orchestration overhead of `moud generate` against an instant loopback OpenAI-compatible server.

The server (FakeOpenAIServer + ScriptedCrowdworker, answering instantly with native text) runs in a
separate process; the client is the real runner: prompts, parsing, per-request seeds, the SQLite
request cache, atomic shards and the aiohttp backend.

    python -m benchmarks.bench_generate --dialogues 300 --concurrency 256 [--no-cache] [--json result.json]
    python -m benchmarks.bench_generate --configs default,no-inline-gates,in-process-gates --rounds 5

Reports requests/s (wall) and CPU time per request: the client's, the gate worker's and the server's (on a
small machine all three share the CPUs), per configuration (inline gates in a worker process: ``default``;
``no-inline-gates``; gates in this process: ``in-process-gates``), median [min, max] of interleaved rounds.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_servers import cpu_seconds, start_servers
from benchmarks.harness import finish, interleave, parse, parser, spread_table, summarize_configs

CONFIGS = {
    "default": {"inline_gates": True, "gate_process": True},
    "no-inline-gates": {"inline_gates": False, "gate_process": True},
    "in-process-gates": {"inline_gates": True, "gate_process": False},
}


def one_run(args, url: str, server_pid: int, gates: dict) -> dict:
    """One ``moud generate`` run (the real runner) against the server at ``url``, in a fresh folder."""
    from generation.config import load_run_config
    from generation.run_output import prepare_output
    from generation.scheduler import GenerationRun
    from moud_core.backends.cache import CachedBackend
    from moud_core.backends.factory import make_backend
    from moud_core.languages import load_registry

    tmp = Path(tempfile.mkdtemp(prefix="moud-bench-"))
    try:
        langs = args.languages.split(",")
        cfg = load_run_config(
            None,
            {
                "languages": langs,
                "dialogues_per_language": args.dialogues,
                "concurrency": args.concurrency,
                "model": "bench",
                **gates,
            },
        )
        prepare_output(tmp, cfg)
        backend = make_backend("openai", "bench", base_url=url, max_concurrency=args.concurrency * 2)
        if not args.no_cache:
            backend = CachedBackend(backend, tmp / "cache.sqlite")
        run = GenerationRun(cfg, tmp, backend, load_registry(), langs, quiet=True)

        async def go():
            try:
                return await run.run()
            finally:
                await backend.aclose()

        server0 = cpu_seconds([server_pid])
        kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu0, t0 = time.process_time(), time.perf_counter()
        summary = asyncio.run(go())
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
        kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the gate worker (ended with the run)
        gate_cpu = (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
        server1 = cpu_seconds([server_pid])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    n = max(1, summary.requests)
    return {
        "dialogues": summary.made + summary.failed,
        "requests": summary.requests,
        "wall_s": round(wall, 2),
        "requests_per_s": round(summary.requests / wall, 1),
        "client_cpu_ms_per_request": round(1000 * cpu / n, 3),
        "gate_worker_cpu_ms_per_request": round(1000 * gate_cpu / n, 3),
        "server_cpu_ms_per_request": None
        if None in (server0, server1)
        else round(1000 * (server1 - server0) / n, 3),
        "gate_process": summary.gate_process,
    }


def main(argv=None) -> int:
    ap = parser(__doc__)
    ap.add_argument("--dialogues", type=int, default=300, help="dialogues per language")
    ap.add_argument("--languages", default="fr,zh")
    ap.add_argument("--concurrency", type=int, default=256, help="dialogues in flight")
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument(
        "--configs", default="default", help=f"comma-separated, from {', '.join(CONFIGS)} (default: default)"
    )
    args = parse(ap, argv, tiny={"dialogues": 3, "languages": "fr", "concurrency": 8})
    names = args.configs.split(",")
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        ap.error(f"--configs: unknown {', '.join(unknown)}; expected some of {', '.join(CONFIGS)}")
    stop, (server,), (url,) = start_servers(1)
    try:
        runs = interleave(
            {n: lambda n=n: one_run(args, url, server.pid, CONFIGS[n]) for n in names}, args.rounds
        )
    finally:
        stop.set()
        server.join(10)
    results = {
        "concurrency": args.concurrency,
        "cache": not args.no_cache,
        "cpu_count": mp.cpu_count(),
        "configs": summarize_configs(runs),
    }
    metrics = ["requests_per_s", "client_cpu_ms_per_request", "gate_worker_cpu_ms_per_request"]
    return finish(args, "bench_generate", results, spread_table(results["configs"], metrics, digits=3))


if __name__ == "__main__":
    sys.exit(main())
