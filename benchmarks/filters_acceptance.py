"""Keep/drop rates of the default filter config on XPersona validation dialogues (real human text) and on
the same dialogues with one turn replaced by English, another target language, or a romanization.

    python benchmarks/filters_acceptance.py [--xpersona DIR] [--config filters.yaml] [--json out.json]

The replacement text is a real XPersona utterance of the other language with at least 20 characters
(LID is not asked to judge shorter texts); positions and texts are drawn with a fixed seed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generation.filters.probe import measure  # noqa: E402

DEFAULT_DIR = ROOT.parent / "shared" / "data" / "xpersona"


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
    print(f"{'lang':<5}{'dialogues':>10}{'kept':>8}  {'english drop':>16} {'other-lang drop':>18} "
          f"{'romanized drop':>16}  human drops by gate")
    for code, r in res.items():
        cells = [f"{r[p]['drop_rate']:.1%} " + "/".join(f"{g}" for g in sorted(r[p]['by_gate'])) if p in r else "n/a"
                 for p in ("english", "other_language", "romanized")]
        print(f"{code:<5}{r['dialogues']:>10}{r['keep_rate']:>8.1%}  {cells[0]:>16} {cells[1]:>18} {cells[2]:>16}"
              f"  {r['human_drops']}")
    print("\nby half (dialogues with even / odd index; the thresholds were tuned on all of them):")
    print(f"{'lang':<5}{'kept':>16}  {'english drop':>16} {'other-lang drop':>18} {'romanized drop':>16}")
    for code, r in res.items():
        def pair(d):
            return f"{d['even']:.1%}/{d['odd']:.1%}"
        cells = [pair(r[p]["drop_rate_by_parity"]) if p in r else "n/a"
                 for p in ("english", "other_language", "romanized")]
        print(f"{code:<5}{pair(r['keep_rate_by_parity']):>16}  {cells[0]:>16} {cells[1]:>18} {cells[2]:>16}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
