"""Throughput of the OpenAI HTTP backend against instant loopback servers in separate processes.

For 1, 2 and 4 fake servers (each its own process) it keeps ``--in-flight`` requests in flight through one
OpenAIBackend and measures requests/s and the client's CPU seconds per request (time.process_time of
this process). Prints a table and writes JSON.

    python benchmarks/bench_http_backend.py --requests 20000 --out bench_http.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_servers import start_servers  # noqa: E402

from moud_core.atomic import atomic_write_text  # noqa: E402
from moud_core.backends.base import ChatRequest, SamplingParams  # noqa: E402
from moud_core.backends.openai_http import OpenAIBackend  # noqa: E402


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


def process_cpu_s(pids: list[int]) -> float | None:
    """utime + stime of processes (Linux /proc), or None where unavailable."""
    try:
        total = 0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


async def measure(
    urls: list[str], n_requests: int, in_flight: int, warmup: int, server_pids: list[int]
) -> dict:
    backend = OpenAIBackend("fake-model", base_url=urls, max_concurrency=in_flight, timeout=60)
    try:
        await backend.check()
        await drive(backend, warmup, in_flight, offset=10**9)
        server0, cpu0, t0 = process_cpu_s(server_pids), time.process_time(), time.perf_counter()
        failures = await drive(backend, n_requests, in_flight)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        server1 = process_cpu_s(server_pids)
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
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20000, help="measured requests per configuration")
    parser.add_argument("--warmup", type=int, default=1000, help="unmeasured requests first")
    parser.add_argument("--in-flight", type=int, default=256, help="concurrent requests")
    parser.add_argument("--servers", default="1,2,4", help="comma-separated server counts")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per configuration; the median is reported"
    )
    parser.add_argument("--out", type=Path, default=None, help="write results as JSON here")
    args = parser.parse_args(argv)
    load_at_start = os.getloadavg() if hasattr(os, "getloadavg") else None
    results = []
    for n in [int(x) for x in args.servers.split(",")]:
        answer = "Bonjour ! Ça va très bien, merci."
        stop, procs, urls = start_servers(n, max_seconds=600, answer=answer, model="fake-model")
        try:
            runs = [
                asyncio.run(measure(urls, args.requests, args.in_flight, args.warmup, [p.pid for p in procs]))
                for _ in range(max(1, args.repeat))
            ]
        finally:
            stop.set()
            for p in procs:
                p.join(15)
                if p.is_alive():
                    p.terminate()
        runs.sort(key=lambda run: run["requests_per_s"])
        r = dict(
            runs[len(runs) // 2],
            runs_requests_per_s=[run["requests_per_s"] for run in runs],
            failures=sum(run["failures"] for run in runs),
        )
        results.append(r)
        print(
            f"servers={r['servers']}  {r['requests_per_s']:>8.1f} req/s  "
            f"client {r['client_cpu_ms_per_request']:.3f} / "
            f"servers {r['server_cpu_ms_per_request']} ms CPU/request  "
            f"failures={r['failures']}  "
            f"spread={r['per_endpoint_requests']}  runs={r['runs_requests_per_s']}",
            flush=True,
        )
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "loadavg_at_start": load_at_start,
        },
        "results": results,
    }
    print(
        "\n| servers | requests/s | client CPU ms/request | servers' CPU ms/request | failures |\n"
        "|---|---|---|---|---|"
    )
    for r in results:
        print(
            f"| {r['servers']} | {r['requests_per_s']:.0f} | {r['client_cpu_ms_per_request']:.3f} | "
            f"{r['server_cpu_ms_per_request']} | {r['failures']} |"
        )
    if args.out:
        atomic_write_text(args.out, json.dumps(report, indent=2) + "\n")
    return 0 if all(r["failures"] == 0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
