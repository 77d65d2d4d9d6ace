"""Throughput of the OpenAI HTTP backend against instant loopback servers in separate processes.

For 1, 2 and 4 fake servers (each its own process, all started once) it keeps ``--in-flight`` requests in
flight through one OpenAIBackend and measures requests/s and the client's CPU seconds per request
(time.process_time of this process), the server counts interleaved over ``--rounds``. Prints a table.

    python -m benchmarks.bench_http_backend --requests 20000 --json bench_http.json
"""

from __future__ import annotations

import asyncio
import time

from benchmarks.bench_servers import cpu_seconds, start_servers
from benchmarks.harness import finish, interleave, parse, parser, spread_table, summarize_configs
from moud_core.backends.base import ChatRequest, SamplingParams
from moud_core.backends.openai_http import OpenAIBackend


async def drive(backend: OpenAIBackend, n_requests: int, in_flight: int, offset: int = 0) -> int:
    """``in_flight`` workers pull request numbers until ``n_requests`` are done; returns failures."""
    sampling = SamplingParams(max_tokens=32)
    counter = iter(range(offset, offset + n_requests))
    failures = 0

    async def worker():
        nonlocal failures
        for i in counter:
            req = ChatRequest(
                messages=(("system", "You are a helpful crowdworker."), ("user", f"Dis bonjour #{i}")),
                sampling=sampling,
                seed=i,
            )
            try:
                await backend.chat(req)
            except Exception:
                failures += 1

    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return failures


async def measure(
    urls: list[str], n_requests: int, in_flight: int, warmup: int, server_pids: list[int]
) -> dict:
    backend = OpenAIBackend("fake-model", base_url=urls, max_concurrency=in_flight, timeout=60)
    try:
        await backend.check()
        await drive(backend, warmup, in_flight, offset=10**9)
        server0, cpu0, t0 = cpu_seconds(server_pids), time.process_time(), time.perf_counter()
        failures = await drive(backend, n_requests, in_flight)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        server1 = cpu_seconds(server_pids)
        stats = backend.stats()
    finally:
        await backend.aclose()
    return {
        "servers": len(urls),
        "requests": n_requests,
        "in_flight": in_flight,
        "failures": failures,
        "wall_s": round(wall, 3),
        "requests_per_s": round(n_requests / wall, 1),
        "client_cpu_ms_per_request": round(1000 * cpu / n_requests, 4),
        "server_cpu_ms_per_request": (
            None if server0 is None or server1 is None else round(1000 * (server1 - server0) / n_requests, 4)
        ),
        "per_endpoint_requests": [ep["requests"] for ep in stats["endpoints"]],
    }


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, rounds=3)
    ap.add_argument("--requests", type=int, default=20000, help="measured requests per configuration")
    ap.add_argument("--warmup", type=int, default=1000, help="unmeasured requests first")
    ap.add_argument("--in-flight", type=int, default=256, help="concurrent requests")
    ap.add_argument("--servers", default="1,2,4", help="comma-separated server counts")
    args = parse(ap, argv, tiny={"requests": 200, "warmup": 20, "in_flight": 16, "servers": "1,2"})
    counts = [int(x) for x in args.servers.split(",")]
    answer = "Bonjour ! Ça va très bien, merci."
    stop, procs, urls = start_servers(max(counts), max_seconds=600, answer=answer, model="fake-model")
    pids = [p.pid for p in procs]

    def config(n: int):
        return lambda: asyncio.run(measure(urls[:n], args.requests, args.in_flight, args.warmup, pids[:n]))

    try:
        runs = interleave({f"{n} server(s)": config(n) for n in counts}, args.rounds)
    finally:
        stop.set()
        for p in procs:
            p.join(15)
            if p.is_alive():
                p.terminate()
    configs = summarize_configs(runs)
    failures = sum(r["failures"] for rs in runs.values() for r in rs)
    table = spread_table(
        configs, ["requests_per_s", "client_cpu_ms_per_request", "server_cpu_ms_per_request"], digits=3
    )
    return finish(
        args, "bench_http_backend", {"configs": configs, "failures": failures}, table, int(failures > 0)
    )


if __name__ == "__main__":
    raise SystemExit(main())
