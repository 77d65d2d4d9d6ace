"""Filter throughput and memory on a synthetic corpus made here (no data needed).

    python benchmarks/bench_filters.py [--dialogues 20000] [--workers 2]

Reports: LID utterances/s on one core, whole-gate-stack dialogues/s through `filter_run` with N worker
processes, and peak RSS (this process + children) for two corpus sizes (streaming: should stay flat).
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generation.io_utils import write_jsonl_atomic  # noqa: E402
from generation.schema import example_row, split_group_for  # noqa: E402

WORDS = {
    "fr": ("je tu nous aime adore travaille habite chien chat musique week-end marché vélo cuisine famille "
           "souvent toujours jamais le la les un une des avec dans pour très beaucoup ville montagne plage").split(),
    "de": ("ich du wir liebe arbeite wohne Hund Katze Musik Wochenende Markt Fahrrad Küche Familie oft immer "
           "nie der die das ein eine mit in für sehr viel Stadt Berge Strand").split(),
    "es": ("yo tú nosotros amo trabajo vivo perro gato música fin de semana mercado bicicleta cocina familia "
           "a menudo siempre nunca el la los un una con en para muy mucho ciudad montaña playa").split(),
}
JA = list("私は犬と猫が好きですあなたの週末には何をしていますか公園で散歩しました音楽を聴くのが楽しい")


def synth_row(lang: str, i: int, rng: random.Random) -> dict:
    def sentence():
        if lang == "ja":
            return "".join(rng.choice(JA) for _ in range(rng.randint(12, 30))) + "。"
        words = WORDS[lang]
        return " ".join(rng.choice(words) for _ in range(rng.randint(6, 14))).capitalize() + "."
    turns = [("AB"[t % 2], sentence()) for t in range(rng.randint(8, 16))]
    row = example_row(lang, i, turns)
    pa, pb = [sentence() for _ in range(4)], [sentence() for _ in range(4)]
    row.update(persona_a=pa, persona_b=pb, common_ground=sentence(), split_group=split_group_for(lang, pa, pb))
    return row


def make_corpus(root: Path, n: int, per_shard: int = 1000, seed: int = 0) -> None:
    rng = random.Random(seed)
    langs = ["fr", "de", "es", "ja"]
    for lang in langs:
        count = n // len(langs)
        for s in range(0, count, per_shard):
            rows = (synth_row(lang, i, rng) for i in range(s, min(count, s + per_shard)))
            write_jsonl_atomic(root / "shards" / lang / f"shard-{s // per_shard:05d}.jsonl", rows)


def bench_lid(n: int = 100_000) -> float:
    from generation.filters.lid import LidModel

    rng = random.Random(1)
    texts = [synth_row(rng.choice(["fr", "de", "es", "ja"]), 0, rng)["turns"][0]["text"] for _ in range(n // 10)] * 10
    model = LidModel()
    t = time.perf_counter()
    model.predict(texts, 3)
    return len(texts) / (time.perf_counter() - t)


def run_child(corpus: Path, workers: int) -> tuple[float, float]:
    """Filter in a fresh process; returns (seconds, peak RSS MiB of that process and its workers)."""
    code = ("import sys,time,resource,tempfile;from generation.filters.runner import filter_run;"
            "t=time.perf_counter();filter_run(sys.argv[1],tempfile.mkdtemp()+'/out',workers=int(sys.argv[2]));"
            "dt=time.perf_counter()-t;r=resource.getrusage;"
            "print(dt,max(r(resource.RUSAGE_SELF).ru_maxrss,r(resource.RUSAGE_CHILDREN).ru_maxrss)/1024)")
    out = subprocess.run([sys.executable, "-c", code, str(corpus), str(workers)], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dialogues", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    print(f"LID (lid.176.ftz, one core): {bench_lid():,.0f} utterances/s")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (args.dialogues // 4, args.dialogues):
            corpus = Path(tmp) / f"c{n}"
            make_corpus(corpus, n)
            secs, rss = run_child(corpus, args.workers)
            print(f"gate stack, {n:,} dialogues, {args.workers} workers: {n / secs:,.0f} dialogues/s "
                  f"({secs:.1f} s), peak RSS {rss:,.0f} MiB")
    print(f"(max RSS of this driver process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
