"""Latency of `moud review serve` under 20 concurrent raters on a 10,000-item review folder.

Builds synthetic shards (4 languages x 2,500 dialogues of 8-14 turns, with judge scores), draws the review
folder with `moud review sample` (5 raters per language = 20 raters, 2 raters per item: 1,000 items each),
starts `moud review serve` as a subprocess on 127.0.0.1, and runs 20 raters at once in one asyncio client:
each opens the page (GET /, /api/me, POST /api/session), then for each item loads it (GET
/api/items/{i}, what the page fetches on every move) and posts one rating per criterion (6 POST
/api/ratings, each committed to SQLite with synchronous=FULL before the answer), with no think time (a
stress test: real raters pause for seconds between keys). Reports p50/p95/p99 latencies per request kind,
requests/s, and checks that every acknowledged rating is in the database. Each of ``--rounds`` draws a
fresh review folder and starts a fresh server.

    python -m benchmarks.bench_review --items-per-rater 60 [--json bench_review.json]
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp
import numpy as np

from benchmarks.harness import ROOT, finish, parse, parser, summarize
from eval.review.folder import create_review
from eval.review.store import Store
from eval.rubric import load_rubric
from moud_core.jsonl import write_jsonl_atomic
from moud_core.schema import example_row

WORDS = {
    "fr": "le la marché samedi boulangerie vélo Lyon pain fromage aimer aller voir ami travail".split(),
    "sw": "habari sokoni leo nzuri sana nimetoka Kariakoo mwalimu pilau chai rafiki kazi".split(),
    "ar": "مرحبا السوق اليوم نعم الخبز التمر صديق عمل القاهرة جميل".split(),
    "ja": list("私あなた大阪東京好きたこ焼き猫犬学校週末山友達仕事です"),
}
EVENTS = ["small_talk", "gossip", "making_plans", "catching_up", "joking_around", "asking_for_advice"]


def write_inputs(root: Path, per_language: int, seed: int) -> tuple[Path, Path]:
    rng = random.Random(seed)
    rubric = load_rubric()
    names = [c.name for c in rubric.for_kind("dialogue")]
    judged = []
    for lang, words in WORDS.items():
        sep = "" if lang == "ja" else " "
        rows = []
        for i in range(per_language):
            turns = [
                ("AB"[t % 2], sep.join(rng.choices(words, k=rng.randint(6, 20))))
                for t in range(rng.randint(8, 14))
            ]
            row = example_row(lang, i, turns)
            row["speech_event"] = EVENTS[i % len(EVENTS)]
            rows.append(row)
            judged.append(
                {
                    "item_id": f"{row['id']}/dialogue",
                    "language": lang,
                    "kind": "dialogue",
                    "generator_model": row["metadata"]["generator_model"],
                    "status": "ok",
                    "repeat": 0,
                    "rubric_version": rubric.version,
                    "scores": {n: rng.randint(1, 5) for n in names},
                }
            )
        write_jsonl_atomic(root / "run" / "shards" / lang / "shard-00000.jsonl", rows)
    write_jsonl_atomic(root / "judged" / "judgments.jsonl", judged)
    return root / "run", root / "judged"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def rater(
    session: aiohttp.ClientSession,
    base: str,
    token: str,
    n_items: int,
    criteria: list[str],
    lat: dict[str, list[float]],
    errors: list,
    acked: set,
    think: float,
) -> None:
    auth = {"Authorization": f"Bearer {token}"}

    async def timed(kind, method, path, **kw):
        t0 = time.perf_counter()
        async with session.request(method, base + path, **kw) as resp:
            body = await resp.read()
            lat[kind].append(time.perf_counter() - t0)
            if resp.status != 200:
                errors.append((kind, resp.status, body[:100]))
            return resp.status, body

    await timed("GET /", "GET", "/")
    await timed("GET /api/me", "GET", "/api/me", headers=auth)
    _, body = await timed("POST /api/session", "POST", "/api/session", headers=auth)
    headers = {**auth, "X-Review-Session": json.loads(body)["session"]}
    for index in range(n_items):
        _, body = await timed("GET item", "GET", f"/api/items/{index}", headers=auth)
        item_id = json.loads(body)["item"]["item_id"]
        for c in criteria:
            if think:
                await asyncio.sleep(think)
            status, _ = await timed(
                "POST rating",
                "POST",
                "/api/ratings",
                headers=headers,
                json={"item_id": item_id, "criterion": c, "score": 1 + hash((item_id, c)) % 5},
            )
            if status == 200:
                acked.add((item_id, token, c))


async def load(base: str, tokens: list[str], n_items: int, criteria: list[str], think: float):
    lat: dict[str, list[float]] = {
        k: [] for k in ("GET /", "GET /api/me", "POST /api/session", "GET item", "POST rating")
    }
    errors: list = []
    acked: set = set()
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as session:
        t0 = time.perf_counter()
        await asyncio.gather(
            *(rater(session, base, t, n_items, criteria, lat, errors, acked, think) for t in tokens)
        )
        wall = time.perf_counter() - t0
    return lat, errors, acked, wall


def serve_and_load(root: Path, review: Path, run: Path, judged: Path, args) -> dict:
    """One round: draw ``review`` with ``moud review sample``, serve it, run the raters, count the ratings."""
    t0 = time.perf_counter()
    manifest = create_review(
        review,
        run,
        ",".join(WORDS),
        args.dialogues_per_language,
        args.raters_per_language,
        2,
        0,
        None,
        [str(judged)],
    )
    sample_s = time.perf_counter() - t0
    n_items = sum(c["items"] for c in manifest["counts"].values())
    lines = (review / "tokens.tsv").read_text().splitlines()[1:]
    tokens = [line.split("\t")[2] for line in lines]
    criteria = [c.name for c in load_rubric().for_kind("dialogue")]
    port = free_port()
    log_path = root / f"{review.name}-serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moud_cli", "review", "serve", str(review), "--port", str(port)]
            + ["--max-seconds", "900"],
            cwd=ROOT,
            stdout=log,
            stderr=log,
        )
        try:
            t0 = time.perf_counter()
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.perf_counter() - t0 > 60:
                        raise RuntimeError("server did not start: " + log_path.read_text()) from None
                    time.sleep(0.05)
            start_s = time.perf_counter() - t0
            lat, errors, acked, wall = asyncio.run(
                load(f"http://127.0.0.1:{port}", tokens, args.items_per_rater, criteria, args.think_ms / 1000)
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(30)
    store = Store(review / "ratings.sqlite")
    stored = len(store.all_ratings())
    store.close()
    requests = sum(len(v) for v in lat.values())
    return {
        "items": n_items,
        "raters": len(tokens),
        "sample_seconds": round(sample_s, 2),
        "server_start_seconds": round(start_s, 2),
        "requests": requests,
        "wall_seconds": round(wall, 2),
        "requests_per_second": round(requests / wall, 1),
        "errors": len(errors),
        "ratings_acknowledged": len(acked),
        "ratings_in_db": stored,
        "server_exit_code": code,
        "latency_ms": {
            k: {
                "n": len(v),
                **{f"p{q}": round(float(np.percentile(v, q)) * 1000, 2) for q in (50, 95, 99)},
                "max": round(max(v) * 1000, 2),
            }
            for k, v in lat.items()
            if v
        },
    }


def main(argv=None) -> int:
    ap = parser(__doc__)
    ap.add_argument(
        "--dialogues-per-language", type=int, default=2500, help="4 languages (default: 10,000 items)"
    )
    ap.add_argument("--raters-per-language", type=int, default=5, help="default 5 (20 raters)")
    ap.add_argument("--items-per-rater", type=int, default=60, help="items each rater rates (default 60)")
    ap.add_argument(
        "--think-ms", type=float, default=0.0, help="pause before each rating (default 0: stress)"
    )
    tiny = {"dialogues_per_language": 6, "raters_per_language": 2, "items_per_rater": 2}
    args = parse(ap, argv, tiny=tiny)
    with tempfile.TemporaryDirectory(prefix="bench-review-") as tmp:
        root = Path(tmp)
        run, judged = write_inputs(root, args.dialogues_per_language, seed=0)
        rounds = [serve_and_load(root, root / f"review-{r}", run, judged, args) for r in range(args.rounds)]
    results = {
        "items_per_rater": args.items_per_rater,
        "think_ms": args.think_ms,
        "rounds": rounds,
        "spread": summarize(rounds),
        "latency_p95_ms": {
            k: [r["latency_ms"][k]["p95"] for r in rounds if k in r["latency_ms"]]
            for k in rounds[0]["latency_ms"]
        },
    }
    lines = [
        f"{rounds[0]['items']:,} items, {rounds[0]['raters']} raters x {args.items_per_rater} items; "
        f"{args.rounds} round(s): requests/s {[r['requests_per_second'] for r in rounds]}",
        *(f"p95 {k}: {v} ms" for k, v in results["latency_p95_ms"].items()),
    ]
    ok = all(r["errors"] == 0 and r["ratings_in_db"] == r["ratings_acknowledged"] for r in rounds)
    if not ok:
        lines.append("FAILED: errors, or acknowledged ratings missing from the database")
    return finish(args, "bench_review", results, "\n".join(lines), 0 if ok else 1)


if __name__ == "__main__":
    sys.exit(main())
