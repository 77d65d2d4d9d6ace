"""Yield: completion tokens spent per kept dialogue, with and without inline gates, against a scripted
server that makes the mistakes real models make.

The server (FakeOpenAIServer + ScriptedCrowdworker wrapped in generation/testing/slips.py's SlipInjector)
runs in its own process and records every injection with the exact text that marks it. Each scenario runs
``moud generate`` then ``moud filter`` (the real CLIs, in this process) and reports: completion tokens,
dialogues kept after filtering, tokens per kept dialogue (and its ratio to the clean server's), and kept
rows that still hold injected text, judged by the injector's own record (not by MOUD's gates).

    python -m benchmarks.bench_yield                                  # fr, 60 dialogues, 'realistic' rates
    python -m benchmarks.bench_yield --languages fr,zh,ja,ar,es,de --dialogues 20 --json yield.json

Scenarios (interleaved over ``--rounds``; the table shows medians): clean server (inline gates on), injected +
inline gates (default), injected + --no-inline-gates.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.harness import finish, interleave, parse, parser, summarize_configs


def _serve(port_queue, stop_event, rates: dict, seed: int, record: str) -> None:
    from generation.testing.crowdworker import ScriptedCrowdworker
    from generation.testing.fake_openai import FakeOpenAIServer
    from generation.testing.slips import SlipInjector

    slips = SlipInjector(ScriptedCrowdworker(), rates=rates, seed=seed)
    server = FakeOpenAIServer(slips, model="bench", log_requests=False, max_seconds=1800).start()
    port_queue.put(server.port)
    stop_event.wait(1800)
    server.stop()
    slips.dump(record)


def _rows(folder: Path, kind: str = "shards") -> list[dict]:
    return [
        json.loads(line)
        for f in sorted(folder.glob(f"{kind}/*/shard-*.jsonl"))
        for line in f.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def _texts(row: dict) -> list[str]:
    return [*row["persona_a"], *row["persona_b"], row["common_ground"], *(t["text"] for t in row["turns"])]


def scenario(name: str, rates: dict, gates: bool, args, tmp: Path) -> dict:
    """One ``moud generate`` + ``moud filter`` against a fresh slipping server, in a fresh folder."""
    tmp = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=tmp))
    import moud_cli
    from generation.testing.slips import load_injections, persona_twins

    ctx = mp.get_context("spawn")
    port_q, stop = ctx.Queue(), ctx.Event()
    record = tmp / f"{name}-injected.jsonl"
    server = ctx.Process(target=_serve, args=(port_q, stop, rates, args.seed, str(record)), daemon=True)
    server.start()
    run, filtered = tmp / f"{name}-run", tmp / f"{name}-filtered"
    try:
        port = port_q.get(timeout=60)
        argv = [
            "generate",
            "--out",
            str(run),
            "--languages",
            args.languages,
            "--dialogues",
            str(args.dialogues),
            "--model",
            "bench",
            "--base-url",
            f"http://127.0.0.1:{port}/v1",
            "--seed",
            str(args.seed),
            "--quiet",
            "--no-cache",
        ] + ([] if gates else ["--no-inline-gates"])
        t0 = time.perf_counter()
        with contextlib.redirect_stderr(io.StringIO()):
            if moud_cli.main(argv) != 0:
                raise SystemExit(f"{name}: moud generate failed")
        gen_s = time.perf_counter() - t0
    finally:
        stop.set()
        server.join(30)
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        if moud_cli.main(["filter", "--in", str(run), "--out", str(filtered), "--quiet"]) != 0:
            raise SystemExit(f"{name}: moud filter failed")
    injections = load_injections(record)
    summary = json.loads((run / "manifest.json").read_text(encoding="utf-8"))["last_run"]
    made, kept = _rows(run), _rows(filtered)
    corrupted_rows, corrupted_kinds = 0, Counter()
    for row in kept:
        found = {inj.kind for text in _texts(row) for inj in injections if inj.found_in(text)}
        corrupted_rows += bool(found)
        corrupted_kinds.update(found)
    requested = summary["made"] + summary["failed"]
    rejected = Counter(
        r["gate"] for row in made for r in row["metadata"]["rejected_outputs"] if r["action"] != "trimmed"
    )
    return {
        "scenario": name,
        "inline_gates": gates,
        "requested": requested,
        "made": summary["made"],
        "failed": summary["failed"],
        "kept_after_filter": len(kept),
        "kept_share": round(len(kept) / max(1, requested), 4),
        "requests": summary["requests"],
        "completion_tokens": summary["completion_tokens"],
        "tokens_per_kept": round(summary["completion_tokens"] / max(1, len(kept)), 1),
        "kept_rows_with_injected_text": corrupted_rows,
        "injected_kinds_in_kept_rows": dict(corrupted_kinds),
        "kept_rows_with_persona_twins": sum(persona_twins(row) for row in kept),
        "injections": dict(Counter(i.kind for i in injections)),
        "rejected_by_gate": dict(rejected),
        "failure_reasons": summary["failure_reasons"],
        "generate_seconds": round(gen_s, 1),
    }


def main(argv=None) -> int:
    from generation.testing.slips import REALISTIC, parse_rates

    ap = parser(__doc__)
    ap.add_argument("--languages", default="fr", help="languages the crowdworker writes (default fr)")
    ap.add_argument("--dialogues", type=int, default=60, help="dialogues per language (default 60)")
    ap.add_argument("--inject", default="realistic", help="injection rates: 'realistic' or KIND=RATE,...")
    ap.add_argument("--seed", type=int, default=0)
    args = parse(ap, argv, tiny={"dialogues": 2})
    rates = parse_rates(args.inject)
    tmp = Path(tempfile.mkdtemp(prefix="moud-yield-"))
    scenarios = {"clean": ({}, True), "injected+gates": (rates, True), "injected-no-gates": (rates, False)}
    try:
        runs = interleave(
            {name: lambda name=name, s=s: scenario(name, *s, args, tmp) for name, s in scenarios.items()},
            args.rounds,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True) if not os.environ.get("MOUD_KEEP_YIELD") else print(tmp)
    for i, clean in enumerate(runs["clean"]):
        for rs in runs.values():
            base = clean["tokens_per_kept"]
            rs[i]["tokens_per_kept_vs_clean"] = round(rs[i]["tokens_per_kept"] / base, 3) if base else None
    configs = summarize_configs(runs)
    lines = [
        f"{args.languages}: {args.dialogues} dialogues per language; injection rates {rates or REALISTIC}; "
        f"medians of {args.rounds} round(s)",
        "| scenario | kept after filter | completion tokens | tokens / kept dialogue | vs clean "
        "| kept rows with injected text | kept rows with persona twins |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, c in configs.items():
        m = {k: v["median"] for k, v in c["spread"].items()}
        vs = m.get("tokens_per_kept_vs_clean")
        lines.append(
            f"| {name} | {m['kept_after_filter']:g}/{m['requested']:g} ({100 * m['kept_share']:.1f}%) | "
            f"{m['completion_tokens']:,.0f} | {m['tokens_per_kept']:,.1f} | {vs}× | "
            f"{m['kept_rows_with_injected_text']:g} | {m['kept_rows_with_persona_twins']:g} |"
        )
    results = {"languages": args.languages, "dialogues": args.dialogues, "rates": rates, "configs": configs}
    return finish(args, "bench_yield", results, "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
