"""Filter throughput and memory on a synthetic corpus made here (no data needed).

    python -m benchmarks.bench_filters [--dialogues 20000] [--workers 1,2] [--rounds 3] [--json out.json]

Reports: LID utterances per CPU-second on one core (distinct texts, synthetic and XPersona when present;
numpy backend batched as the runner batches it, and the fastText binding one line at a time), and for two
corpus sizes and each worker count the whole-gate-stack dialogues/s through `filter_run` (wall clock,
and per CPU-second of the run's processes, which is less sensitive to other jobs on the machine; best,
median and worst of --rounds interleaved runs) and the peak RSS (streaming: should stay flat). The load
average and a CPU check (seconds of a fixed Python loop; ~0.3 s on a quiet dev VM) are printed with every
measurement.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness import ROOT, finish, interleave, parse, parser, summarize_configs, xpersona_dir
from moud_core.jsonl import write_jsonl_atomic
from moud_core.schema import example_row, split_group_for

WORDS = {
    "fr": (
        "je tu nous aime adore travaille habite chien chat musique week-end marché vélo cuisine famille "
        "souvent toujours jamais le la les un une des avec dans pour très beaucoup ville montagne plage"
    ).split(),
    "de": (
        "ich du wir liebe arbeite wohne Hund Katze Musik Wochenende Markt Fahrrad Küche Familie oft immer "
        "nie der die das ein eine mit in für sehr viel Stadt Berge Strand"
    ).split(),
    "es": (
        "yo tú nosotros amo trabajo vivo perro gato música fin de semana mercado bicicleta cocina familia "
        "a menudo siempre nunca el la los un una con en para muy mucho ciudad montaña playa"
    ).split(),
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
    row.update(
        persona_a=pa, persona_b=pb, common_ground=sentence(), split_group=split_group_for(lang, pa, pb)
    )
    return row


def make_corpus(root: Path, n: int, per_shard: int = 1000, seed: int = 0) -> None:
    rng = random.Random(seed)
    langs = ["fr", "de", "es", "ja"]
    for lang in langs:
        count = n // len(langs)
        for s in range(0, count, per_shard):
            rows = (synth_row(lang, i, rng) for i in range(s, min(count, s + per_shard)))
            write_jsonl_atomic(root / "shards" / lang / f"shard-{s // per_shard:05d}.jsonl", rows)


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


XPERSONA_CODES = {"En": "en", "Fr": "fr", "It": "it", "Id": "id", "Jp": "ja", "Ko": "ko", "Zh": "zh"}


def lid_texts(n: int) -> dict[str, list[tuple[str, str]]]:
    """Distinct (language, utterance) pairs to identify: synthetic (fr/de/es/ja, small vocabularies) and,
    when present, the XPersona validation files (real text in 7 languages)."""
    rng = random.Random(1)
    texts: dict[str, str] = {}
    while len(texts) < n:
        lang = rng.choice(["fr", "de", "es", "ja"])
        row = synth_row(lang, 0, rng)
        texts.update((t["text"], lang) for t in row["turns"])
    out = {"synthetic": [(lang, t) for t, lang in list(texts.items())[:n]]}
    xpersona = xpersona_dir()
    if xpersona.is_dir():
        real: dict[str, str] = {}
        for path in sorted(xpersona.glob("*.json")):
            lang = XPERSONA_CODES.get(path.name.split("_")[0])
            for d in json.loads(path.read_text(encoding="utf-8")):
                real.update((t, lang) for t in d["persona"] + [u for pair in d["dialogue"] for u in pair])
        out["xpersona"] = [(lang, t) for t, lang in list(real.items())[:n] if lang]
    return out


def lid_configs(n: int = 50_000) -> dict[str, Callable[[], dict]]:
    """One configuration per (corpus, how); each call gives the utterances per CPU-second of one run on a
    fresh model (cold token cache): the numpy backend's full top-k in batches of 512 (what the runner
    sends) and of 21 (one dialogue); the LID gate's own batch step (``LidGate.predict_texts`` on the texts
    and the segments it judges: the target's probability along its tree path for every text, the full
    top-k only for texts whose target is not certainly on top), per language in batches of 5,376 texts
    (256 dialogues), counting the texts; and the fastText binding one line at a time."""
    from collections import Counter

    from moud_core.languages import get_language
    from moud_gates.base import GateContext
    from moud_gates.config import FilterConfig
    from moud_gates.gates.lid import LidGate, LidModel

    cfg = FilterConfig.load(None)

    def topk(texts: list[str], batch: int) -> dict:
        model = LidModel(backend="numpy")
        c = time.process_time()
        for i in range(0, len(texts), batch):
            model.predict(texts[i : i + batch], 3)
        return {"per_cpu_s": len(texts) / (time.process_time() - c)}

    def as_gate(by_lang: dict[str, list[str]]) -> dict:
        gate = LidGate(LidModel(backend="numpy"))
        c = time.process_time()
        for lang, group in by_lang.items():
            language = get_language(lang)
            params = cfg.for_language(language)["lid"]
            for i in range(0, len(group), 5376):
                texts = gate.texts_and_segments(
                    group[i : i + 5376], GateContext(language, params, Counter(), {})
                )
                gate.predict_texts(texts, language, params)
        return {"per_cpu_s": sum(map(len, by_lang.values())) / (time.process_time() - c)}

    def one_by_one(lines: list[str]) -> dict:
        model = LidModel(backend="fasttext")
        c = time.process_time()
        for line in lines:
            model._predict(line, 3, 0.0, "replace")
        return {"per_cpu_s": len(lines) / (time.process_time() - c)}

    configs = {}
    for name, pairs in lid_texts(n).items():
        texts = [t for _, t in pairs]
        by_lang: dict[str, list[str]] = {}
        for lang, text in pairs:
            if lang != "en":  # English is no target language of the registry
                by_lang.setdefault(lang, []).append(text)
        lines = [" ".join(x.split()) + "\n" for x in texts]
        configs[f"{name}: numpy top-3, batches of 512"] = lambda t=texts: topk(t, 512)
        configs[f"{name}: numpy top-3, batches of 21"] = lambda t=texts: topk(t, 21)
        configs[f"{name}: numpy as the LID gate runs it (texts and the segments it judges)"] = (
            lambda b=by_lang: as_gate(b)
        )
        configs[f"{name}: fastText binding top-3, one by one"] = lambda x=lines: one_by_one(x)
    return configs


def calibrate() -> float:
    """CPU seconds of a fixed pure-Python loop: the same machine varies by tens of percent from minute to
    minute (shared VM), so each measurement is printed with this."""
    c = time.process_time()
    total = 0
    for i in range(3_000_000):
        total += i
    return time.process_time() - c


def run_child(corpus: Path, workers: int) -> tuple[float, float, float]:
    """Filter in a fresh process: (seconds, CPU seconds of it and its workers, peak RSS MiB of any of
    them)."""
    code = (
        "import sys,time,resource,tempfile;from moud_gates.filter import filter_run;"
        "t=time.perf_counter();filter_run(sys.argv[1],tempfile.mkdtemp()+'/out',workers=int(sys.argv[2]));"
        "dt=time.perf_counter()-t;r=resource.getrusage;s,c=r(resource.RUSAGE_SELF),r(resource.RUSAGE_CHILDREN);"
        "print(dt,s.ru_utime+s.ru_stime+c.ru_utime+c.ru_stime,max(s.ru_maxrss,c.ru_maxrss)/1024)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(corpus), str(workers)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


def stack_run(corpus: Path, n: int, workers: int) -> dict:
    before = load()
    secs, cpu_s, rss = run_child(corpus, workers)
    return {
        "dialogues_per_s": n / secs,
        "dialogues_per_cpu_s": n / cpu_s,
        "peak_rss_mib": rss,
        "load_before": before,
        "cpu_check_s": calibrate(),
    }


def _best(c: dict, key: str) -> str:
    s = c["spread"][key]
    return f"best {s['max']:,.0f}, median {s['median']:,.0f}, worst {s['min']:,.0f}"


def main(argv=None) -> int:
    ap = parser(__doc__, rounds=3)
    ap.add_argument("--dialogues", type=int, default=20_000)
    ap.add_argument("--lid-texts", type=int, default=50_000, help="distinct utterances for the LID benchmark")
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts (default: 1,2)")
    args = parse(ap, argv, tiny={"dialogues": 64, "lid_texts": 300, "workers": "1"})
    lines = [f"[{load()}; CPU check {calibrate():.2f} s]"]
    lid = summarize_configs(interleave(lid_configs(args.lid_texts), args.rounds))
    for name, c in lid.items():
        corpus, how = name.split(": ", 1)
        lines.append(
            f"LID (lid.176.ftz, one core), {args.rounds} runs over {corpus} distinct utterances, {how}: "
            f"{_best(c, 'per_cpu_s')} per CPU-second"
        )
    stack = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (args.dialogues // 4, args.dialogues):
            corpus = Path(tmp) / f"c{n}"
            make_corpus(corpus, n)
            runs = interleave(
                {
                    f"{n} dialogues, {w} worker(s)": lambda w=w, corpus=corpus, n=n: stack_run(corpus, n, w)
                    for w in [int(w) for w in args.workers.split(",")]
                },
                args.rounds,
            )
            stack.update(summarize_configs(runs))
    for name, c in stack.items():
        lines.append(
            f"gate stack, {name}: {_best(c, 'dialogues_per_s')} dialogues/s ({args.rounds} runs; best "
            f"{c['spread']['dialogues_per_cpu_s']['max']:,.0f} dialogues per CPU-second), peak RSS "
            f"{c['spread']['peak_rss_mib']['max']:,.0f} MiB "
            f"[{c['rounds'][-1]['load_before']}; CPU check {c['rounds'][-1]['cpu_check_s']:.2f} s]"
        )
    driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines.append(f"(max RSS of this driver process: {driver:,.0f} MiB)")
    results = {"lid": lid, "stack": stack, "driver_max_rss_mib": driver}
    return finish(args, "bench_filters", results, "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
