"""Benchmark `moud build` on a synthetic corpus the size of MOUD (493k dialogues, 29 languages).

    python -m benchmarks.bench_build                  # full size, temp dir removed afterwards
    python -m benchmarks.bench_build --dialogues 20000 --keep /tmp/bench [--rounds 3] [--json out.json]

Generates shards with realistic lengths (persona 4-6 sentences, common ground 2-4 sentences, 6-20
turns of 8-30 words, or 15-60 characters for zh/ja/th) in each language's script, then times
`moud build` in a child process (wall time; peak RSS of the whole process tree, sampled from /proc,
and the largest single process from getrusage) and `load_dataset(out, "fr")` into a fresh cache.
Targets: build < 120 s, peak RSS < 2 GiB, load of one config < 10 s.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.harness import ROOT, finish, interleave, parse, parser, spread_lines, summarize
from moud_core.languages import get_language, select_languages
from moud_core.records import dialogue_row
from moud_core.schema import example_row, validate_row
from moud_core.taxonomy import load_speech_events

ALPHABETS = {
    "Latn": "abcdefghijklmnopqrstuvwxyzéèàüöäçñãõ",
    "Arab": (0x0627, 0x064A),
    "Beng": (0x0985, 0x09B9),
    "Grek": (0x03B1, 0x03C9),
    "Hebr": (0x05D0, 0x05EA),
    "Deva": (0x0905, 0x0939),
    "Kore": (0xAC00, 0xD7A3),
    "Cyrl": (0x0430, 0x044F),
    "Taml": (0x0B85, 0x0BB9),
    "Thai": (0x0E01, 0x0E2E),
    "Hans": (0x4E00, 0x9FA5),
    "Jpan": (0x3041, 0x3096),
}
SHARD_ROWS = 5000
EVENTS = [e.id for e in load_speech_events()]


def _alphabet(script: str) -> str:
    spec = ALPHABETS.get(script, ALPHABETS["Latn"])
    return spec if isinstance(spec, str) else "".join(chr(c) for c in range(spec[0], spec[1] + 1))


def _sentences(rng: random.Random, script: str, chars: bool, n: int, lo: int, hi: int) -> list[str]:
    letters = _alphabet(script)
    vocab = ["".join(rng.choices(letters, k=rng.randint(2, 8))) for _ in range(3000)]
    out = []
    for _ in range(n):
        k = rng.randint(lo, hi)
        if chars:
            out.append("".join(rng.choices(letters, k=k * 2)) + "。")
        else:
            out.append(" ".join(rng.choices(vocab, k=k)).capitalize() + ".")
    return out


def _row(lang: str, i: int, rng: random.Random, pool: list[str], pairs: list[tuple[list, list]]) -> dict:
    """A row of the production constructor (``dialogue_row``), its metadata the schema's example with
    realistic values (so a new metadata field reaches these rows by itself)."""
    pa, pb = pairs[rng.randrange(len(pairs))]
    n_turns = rng.randint(6, 20)
    first = rng.choice("AB")
    other = "B" if first == "A" else "A"
    turns = [
        {"speaker": first if t % 2 == 0 else other, "text": " ".join(rng.choices(pool, k=rng.randint(1, 2)))}
        for t in range(n_turns)
    ]
    metadata = example_row(lang, i)["metadata"]
    for sampling in metadata["sampling"].values():
        sampling.update(max_tokens=512, repetition_penalty=1.05)
    metadata.update(
        generator_model=rng.choice(["Qwen/Qwen2.5-72B-Instruct", "meta-llama/Llama-3.3-70B-Instruct"]),
        backend="vllm",
        run_fingerprint="3f2a9c0d1e2b4a5f",
        dialogue_seed=rng.randrange(2**31),
        first_speaker=first,
        persona_a_categories=["hobbies/cycling", "work/baker"],
        persona_b_categories=["pets/cat", "education/university"],
        prompt_tokens=rng.randint(800, 4000),
        completion_tokens=rng.randint(300, 1500),
        num_requests=n_turns + 3,
        generation_seconds=round(rng.uniform(5, 60), 3),
        lid_scores=[round(rng.uniform(0.8, 1.0), 4) for _ in range(n_turns)],
    )
    return dialogue_row(
        language=lang,
        index=i,
        speech_event=rng.choice(EVENTS),
        persona_a=pa,
        persona_b=pb,
        common_ground=" ".join(rng.choices(pool, k=rng.randint(2, 4))),
        turns=turns,
        metadata=metadata,
    )


def generate_language(job) -> int:
    lang, n, root = job
    spec = get_language(lang)
    rng = random.Random(f"bench-{lang}")
    chars = spec.segmentation == "chars"
    pool = _sentences(rng, spec.script, chars, 4000, 8, 30)
    persona_pool = _sentences(rng, spec.script, chars, 4000, 6, 12)
    pairs = [
        (rng.sample(persona_pool, rng.randint(4, 6)), rng.sample(persona_pool, rng.randint(4, 6)))
        for _ in range(max(1, n // 3))
    ]
    out = Path(root) / "shards" / lang
    out.mkdir(parents=True, exist_ok=True)
    for start in range(0, n, SHARD_ROWS):
        with open(out / f"shard-{start // SHARD_ROWS:05d}.jsonl", "w", encoding="utf-8") as fh:
            for i in range(start, min(n, start + SHARD_ROWS)):
                row = _row(lang, i, rng, pool, pairs)
                if i == 0 and validate_row(row):
                    raise SystemExit(f"bench_build: synthetic row {row['id']}: {validate_row(row)[0]}")
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return n


def generate_corpus(root: Path, total: int, languages: list[str]) -> None:
    per = [total // len(languages) + (1 if k < total % len(languages) else 0) for k in range(len(languages))]
    with multiprocessing.Pool(os.cpu_count() or 1) as pool:
        pool.map(generate_language, [(lang, n, str(root)) for lang, n in zip(languages, per, strict=True)])
    stats = {
        "config": {},
        "languages": {
            lang: {
                "input": int(n * 1.1),
                "kept": n,
                "dropped": {"lid": int(n * 0.07), "repetition": int(n * 0.03)},
            }
            for lang, n in zip(languages, per, strict=True)
        },
    }
    (root / "filter_stats.json").write_text(json.dumps(stats), encoding="utf-8")


def _tree_rss(pid: int) -> int:
    """Sum of VmRSS (bytes) over pid and its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        stack.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def run_measured(cmd: list[str]) -> tuple[float, int, int, float]:
    """(wall seconds, peak tree RSS bytes, largest single-process maxrss bytes, CPU seconds of the tree)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.2)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    rc = proc.wait()
    wall = time.perf_counter() - start
    thread.join()
    if rc != 0:
        raise SystemExit(f"bench_build: {' '.join(cmd)} exited with {rc}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, peak[0], max(usage.ru_maxrss, before) * 1024, usage.ru_utime + usage.ru_stime - cpu_before


LOAD_SNIPPET = """
import sys, time, datasets
datasets.disable_progress_bars()
t = time.perf_counter()
ds = datasets.load_dataset(sys.argv[1], sys.argv[2], cache_dir=sys.argv[3])
print(f"{time.perf_counter() - t:.2f}", sum(len(s) for s in ds.values()))
"""


def measure_build(work: Path, languages: list[str]) -> dict:
    """One round: ``moud build`` of ``work`` in a child process, then ``load_dataset`` of one config."""
    out = work / "moud"
    shutil.rmtree(out, ignore_errors=True)
    wall, peak, single, cpu = run_measured(
        [sys.executable, "-m", "moud_cli", "build", "--shards", str(work), "--out", str(out), "--quiet"]
    )
    parquet = sum(f.stat().st_size for f in out.rglob("*.parquet"))
    lang = "fr" if "fr" in languages else languages[0]
    cache = work / "hf-cache"
    shutil.rmtree(cache, ignore_errors=True)
    load = subprocess.run(
        [sys.executable, "-c", LOAD_SNIPPET, str(out), lang, str(cache)],
        cwd=work,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return {
        "parquet_gib": round(parquet / 2**30, 3),
        "build_seconds": round(wall, 1),
        "build_cpu_seconds": round(cpu, 1),
        "load_average_1min_after_build": round(os.getloadavg()[0], 2),
        "build_peak_rss_tree_mib": round(peak / 2**20),
        "build_max_single_process_rss_mib": round(single / 2**20),
        "load_dataset_language": lang,
        "load_dataset_seconds": float(load[0]),
        "load_dataset_rows": int(load[1]),
    }


def main(argv=None) -> int:
    ap = parser(__doc__)
    ap.add_argument("--dialogues", type=int, default=493_000)
    ap.add_argument("--languages", default="all", help="codes, or 'all' = every registered language")
    ap.add_argument("--keep", type=Path, help="work folder to keep (default: a temp dir, removed)")
    ap.add_argument("--reuse", action="store_true", help="reuse shards already in --keep")
    args = parse(ap, argv, tiny={"dialogues": 60, "languages": "fr,ja,ar"})
    languages = select_languages(args.languages, all_means="registered")
    work = args.keep or Path(tempfile.mkdtemp(prefix="moud-bench-"))
    try:
        if not (args.reuse and (work / "shards").is_dir()):
            shutil.rmtree(work / "shards", ignore_errors=True)
            t = time.perf_counter()
            generate_corpus(work, args.dialogues, languages)
            print(f"generated {args.dialogues:,} dialogues in {time.perf_counter() - t:.1f} s", flush=True)
        size = sum(f.stat().st_size for f in (work / "shards").rglob("*.jsonl"))
        print(f"shards: {size / 2**30:.2f} GiB JSONL", flush=True)
        rounds = interleave({"build": lambda: measure_build(work, languages)}, args.rounds)["build"]
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    results = {
        "dialogues": args.dialogues,
        "languages": len(languages),
        "shards_gib": round(size / 2**30, 3),
        "rounds": rounds,
        "spread": summarize(rounds),
    }
    worst = {k: max(r[k] for r in rounds) for k in ("build_seconds", "build_peak_rss_tree_mib")}
    ok = (
        worst["build_seconds"] < 120
        and worst["build_peak_rss_tree_mib"] < 2048
        and max(r["load_dataset_seconds"] for r in rounds) < 10
    )
    head = f"{args.dialogues:,} dialogues, {len(languages)} languages, {size / 2**30:.2f} GiB JSONL; "
    table = head + f"median [min, max] of {args.rounds} round(s):\n" + spread_lines(results["spread"])
    table += "\ntargets (build < 120 s, peak RSS < 2 GiB, load < 10 s): " + ("met" if ok else "NOT met")
    return finish(args, "bench_build", results, table)


if __name__ == "__main__":
    sys.exit(main())
