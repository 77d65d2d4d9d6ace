"""Benchmark `moud upload` against the loopback stand-in Hub (tests/hub_upload/helpers.py).

Builds a synthetic `moud build` folder (LANGS configs x 3 splits x SHARDS Parquet shards), then times:
validation (card, files, Parquet footers, streaming load_dataset of every config), a first upload
(multi-commit over plain HTTP/LFS, no Xet), and a second upload of the unchanged folder (must send no
content). Loopback numbers measure our overhead (hashing, validation, request count), not the Internet.

    python benchmarks/upload_bench.py --langs 29 --rows 2000 --shards 2
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_OFFLINE"] = "0"
os.environ["TRANSFORMERS_OFFLINE"] = "0"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--langs", type=int, default=29)
    parser.add_argument("--rows", type=int, default=2000, help="rows per shard")
    parser.add_argument("--shards", type=int, default=2, help="shards per split")
    parser.add_argument("--max-files-per-commit", type=int, default=100)
    args = parser.parse_args()

    from hub_upload import upload_dataset
    from hub_upload.folder import validate_folder
    from tests.hub_upload.helpers import SPLITS, StandInHub, make_build_folder

    token = "hf_BenchToken000000000000"
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
        mib = plan.total_bytes / 2**20
        with StandInHub(
            {token: {"name": "bench", "orgs": []}}, max_requests=100_000, max_seconds=3600
        ) as hub:
            t0 = time.perf_counter()
            first = upload_dataset(
                folder,
                "bench/moud",
                token=token,
                endpoint=hub.endpoint,
                progress=False,
                max_files_per_commit=args.max_files_per_commit,
                out=lambda _l: None,
            )
            t_first = time.perf_counter() - t0
            n_first = len(hub.requests)
            t0 = time.perf_counter()
            second = upload_dataset(
                folder, "bench/moud", token=token, endpoint=hub.endpoint, progress=False, out=lambda _l: None
            )
            t_second = time.perf_counter() - t0
            n_second = len(hub.requests) - n_first
        assert first.verified and second.verified and not second.sent
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}"
    )
    print(
        f"folder: {len(plan.files)} files, {mib:.1f} MiB, {len(plan.configs)} configs "
        f"(synthetic build {t_build:.1f}s)"
    )
    print(f"validate (incl. streaming load_dataset of every config): {t_validate:.2f}s")
    print(
        f"first upload: {t_first:.2f}s, {len(first.commits)} commits, {n_first} requests, "
        f"{mib / t_first:.1f} MiB/s over loopback"
    )
    print(f"second upload (unchanged): {t_second:.2f}s, {n_second} requests, 0 bytes of content")
    return 0


if __name__ == "__main__":
    sys.exit(main())
