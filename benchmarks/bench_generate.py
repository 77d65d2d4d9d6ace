"""Orchestration overhead of `moud generate` against an instant loopback OpenAI-compatible server.

The server (FakeOpenAIServer + ScriptedCrowdworker, answering instantly with native text) runs in a
separate process; the client is the real runner: prompts, parsing, per-request seeds, the SQLite
request cache, atomic shards and the aiohttp backend.

    python benchmarks/bench_generate.py --dialogues 300 --concurrency 256 [--no-cache] [--out result.json]

Reports requests/s (wall) and CPU time per request: the client's, the gate worker's and the server's (on a
small machine all three share the CPUs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import resource
import shutil
import tempfile
import time
from pathlib import Path

import psutil
from bench_servers import start_servers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dialogues", type=int, default=300, help="dialogues per language")
    ap.add_argument("--languages", default="fr,zh")
    ap.add_argument("--concurrency", type=int, default=256, help="dialogues in flight")
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument(
        "--no-inline-gates", action="store_true", help="do not check each output with the quality gates"
    )
    ap.add_argument(
        "--in-process-gates", action="store_true", help="check in this process (gate_process: false)"
    )
    ap.add_argument("--out", help="write results as JSON here")
    args = ap.parse_args()

    from generation.config import load_run_config
    from generation.run_output import prepare_output
    from generation.scheduler import GenerationRun
    from moud_core.backends.cache import CachedBackend
    from moud_core.backends.factory import make_backend
    from moud_core.languages import load_registry

    stop, (server,), (url,) = start_servers(1)
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
                "inline_gates": not args.no_inline_gates,
                "gate_process": not args.in_process_gates,
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

        server_proc = psutil.Process(server.pid)
        server0 = sum(server_proc.cpu_times()[:2])
        kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu0, t0 = time.process_time(), time.perf_counter()
        summary = asyncio.run(go())
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
        kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the gate worker (ended with the run)
        gate_cpu = (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
        server_cpu = sum(server_proc.cpu_times()[:2]) - server0
    finally:
        stop.set()
        server.join(10)
        shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "dialogues": summary.made + summary.failed,
        "requests": summary.requests,
        "wall_s": round(wall, 2),
        "requests_per_s": round(summary.requests / wall, 1),
        "client_cpu_ms_per_request": round(1000 * cpu / max(1, summary.requests), 3),
        "gate_worker_cpu_ms_per_request": round(1000 * gate_cpu / max(1, summary.requests), 3),
        "server_cpu_ms_per_request": round(1000 * server_cpu / max(1, summary.requests), 3),
        "concurrency": args.concurrency,
        "cache": not args.no_cache,
        "inline_gates": not args.no_inline_gates,
        "gate_process": summary.gate_process,
        "cpu_count": mp.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
