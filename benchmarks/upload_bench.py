"""Benchmark `moud upload` against the loopback stand-in Hub (hub_upload/testing/stand_in_hub.py).

Builds a synthetic `moud build` folder (LANGS configs x 3 splits x SHARDS Parquet shards), then times:
validation (card, files, Parquet footers, streaming load_dataset of every config), a first upload
(multi-commit over plain HTTP/LFS, no Xet), and a second upload of the unchanged folder (must send no
content). Loopback numbers measure our overhead (hashing, validation, request count), not the Internet.
Each of ``--rounds`` uploads to a fresh stand-in Hub.

    python -m benchmarks.upload_bench --langs 29 --rows 2000 --shards 2 [--json out.json]
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import finish, parse, parser, summarize

os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_OFFLINE"] = "0"
os.environ["TRANSFORMERS_OFFLINE"] = "0"
TOKEN = "hf_BenchToken000000000000"


def upload_twice(folder: Path, max_files_per_commit: int) -> dict:
    """A first upload and an unchanged re-upload of ``folder`` to a fresh stand-in Hub."""
    from hub_upload import upload_dataset
    from hub_upload.testing.stand_in_hub import StandInHub

    with StandInHub({TOKEN: {"name": "bench", "orgs": []}}, max_requests=100_000, max_seconds=3600) as hub:
        t0 = time.perf_counter()
        first = upload_dataset(
            folder,
            "bench/moud",
            token=TOKEN,
            endpoint=hub.endpoint,
            progress=False,
            max_files_per_commit=max_files_per_commit,
            out=lambda _l: None,
        )
        t_first = time.perf_counter() - t0
        n_first = len(hub.requests)
        t0 = time.perf_counter()
        second = upload_dataset(
            folder, "bench/moud", token=TOKEN, endpoint=hub.endpoint, progress=False, out=lambda _l: None
        )
        t_second = time.perf_counter() - t0
        n_second = len(hub.requests) - n_first
    if not (first.verified and second.verified and not second.sent):
        raise SystemExit("upload_bench: an upload was not verified, or the unchanged re-upload sent content")
    return {
        "first_seconds": round(t_first, 2),
        "first_commits": len(first.commits),
        "first_requests": n_first,
        "second_seconds": round(t_second, 2),
        "second_requests": n_second,
    }


def main(argv=None) -> int:
    ap = parser(__doc__)
    ap.add_argument("--langs", type=int, default=29)
    ap.add_argument("--rows", type=int, default=2000, help="rows per shard")
    ap.add_argument("--shards", type=int, default=2, help="shards per split")
    ap.add_argument("--max-files-per-commit", type=int, default=100)
    args = parse(ap, argv, tiny={"langs": 2, "rows": 10, "shards": 1})

    from hub_upload.folder import validate_folder
    from hub_upload.testing.build_folder import SPLITS, make_build_folder

    langs = tuple(f"l{i:02d}" for i in range(args.langs))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        folder = make_build_folder(
            Path(tmp) / "moud",
            langs=langs,
            rows_per_split=args.rows,
            shards={(lang, s): args.shards for lang in langs for s in SPLITS},
        )
        t_build = time.perf_counter() - t0
        t0 = time.perf_counter()
        plan = validate_folder(folder)
        t_validate = time.perf_counter() - t0
        rounds = [upload_twice(folder, args.max_files_per_commit) for _ in range(args.rounds)]
    mib = plan.total_bytes / 2**20
    med = {k: v["median"] for k, v in summarize(rounds).items()}
    results = {
        "files": len(plan.files),
        "mib": round(mib, 2),
        "configs": len(plan.configs),
        "synthetic_build_seconds": round(t_build, 2),
        "validate_seconds": round(t_validate, 2),
        "rounds": rounds,
        "spread": summarize(rounds),
    }
    lines = [
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        f"folder: {len(plan.files)} files, {mib:.1f} MiB, {len(plan.configs)} configs "
        f"(synthetic build {t_build:.1f}s)",
        f"validate (incl. streaming load_dataset of every config): {t_validate:.2f}s",
        f"first upload (median of {args.rounds}): {med['first_seconds']:.2f}s, "
        f"{med['first_commits']:g} commits, {med['first_requests']:g} requests, "
        f"{mib / med['first_seconds']:.1f} MiB/s over loopback",
        f"second upload (unchanged): {med['second_seconds']:.2f}s, {med['second_requests']:g} requests, "
        "0 bytes of content",
    ]
    return finish(args, "upload_bench", results, "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
