"""Keep/drop rates of the default filter config on XPersona validation dialogues (real human text) and on
the same dialogues with one turn replaced by English, another target language, or a romanization.

    python benchmarks/filters_acceptance.py [--xpersona DIR] [--config filters.yaml] [--json out.json]

The replacement text is a real XPersona utterance of the other language with at least 20 characters
(LID is not asked to judge shorter texts); positions and texts are drawn with a fixed seed.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generation.filters.pipeline import FilterPipeline  # noqa: E402
from generation.filters.probe import (  # noqa: E402
    XPERSONA_LANGS,
    replace_one_turn,
    romanize,
    utterances,
    xpersona_file,
    xpersona_rows,
)

DEFAULT_DIR = ROOT.parent / "shared" / "data" / "xpersona"


def measure(xp_dir: Path, config: str | None = None, seed: int = 0) -> dict:
    langs = [c for c in XPERSONA_LANGS if xpersona_file(xp_dir, c).is_file()]
    pools = {c: utterances(xp_dir, c) for c in langs}
    pools["en"] = utterances(xp_dir, "en")
    results: dict = {}
    for code in langs:
        rows = xpersona_rows(xp_dir, code)
        pipe = FilterPipeline.from_config(config)
        human = [pipe.check(json.loads(json.dumps(r))) for r in rows]
        kept = sum(r.kept for r in human)
        res = {"dialogues": len(rows), "kept": kept, "keep_rate": kept / len(rows),
               "human_drops": dict(Counter(r.drop.gate for r in human if r.drop))}
        rng = random.Random(f"{seed}-{code}")
        others = [c for c in langs if c != code]
        probes = {"english": lambda r: rng.choice(pools["en"]),
                  "other_language": lambda r: rng.choice(pools[rng.choice(others)])}
        if code in ("ja", "ko", "zh"):
            probes["romanized"] = None
        for probe, pick in probes.items():
            gates: Counter = Counter()
            dropped = 0
            for row in rows:
                if probe == "romanized":
                    i = rng.randrange(len(row["turns"]))
                    text = romanize(row["turns"][i]["text"], code, rng)
                else:
                    text = pick(row)
                bad, _ = replace_one_turn(row, text, rng)
                stateless_drop, _, _ = pipe.check_stateless(bad)  # dedup state is not consulted for probes
                if stateless_drop is not None:
                    dropped += 1
                    gates[stateless_drop.gate] += 1
            res[probe] = {"drop_rate": dropped / len(rows), "by_gate": dict(gates)}
        results[code] = res
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--xpersona", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--config", default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if not args.xpersona.is_dir():
        print(f"XPersona folder not found: {args.xpersona}", file=sys.stderr)
        return 2
    res = measure(args.xpersona, args.config)
    print(f"{'lang':<5}{'dialogues':>10}{'kept':>8}  {'english drop':>14}{'other-lang drop':>17}{'romanized drop':>16}"
          "  human drops by gate")
    for code, r in res.items():
        cells = [f"{r[p]['drop_rate']:.1%} " + "/".join(f"{g}" for g in sorted(r[p]['by_gate'])) if p in r else "n/a"
                 for p in ("english", "other_language", "romanized")]
        print(f"{code:<5}{r['dialogues']:>10}{r['keep_rate']:>8.1%}  {cells[0]:>14}{cells[1]:>17}{cells[2]:>16}"
              f"  {r['human_drops']}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
