"""Keep rate of the default filter config on the XPersona validation dialogues (real human text), and drop
rates on realistic corruptions of them (benchmarks/corruptions.py), per class and language.

    python -m benchmarks.filters_acceptance [--xpersona DIR] [--config filters.yaml] [--json out.json]
                                            [--languages fr,it] [--classes gloss,near_loop] [--misses 5]

XPersona: ``--xpersona``, default $MOUD_XPERSONA_DIR or ../shared/data/xpersona.

A probe is one dialogue with one corruption; "right" means dropped by the expected gate (lid/script for
language classes, leakage for labels and boilerplate, repetition for loops) naming the corrupted field.
Every rate is also printed for the dialogues with even and with odd index (a held-out check of tuning).
"""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.corruptions import CLASSES
from benchmarks.harness import finish, parse, parser, skip, xpersona_dir
from benchmarks.probe import measure


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def print_tables(res: dict, classes: list[str]) -> None:
    print("Real dialogues kept % (even/odd half), drops by gate")
    for code, r in res.items():
        half = r["keep_rate_by_parity"]
        print(
            f"  {code}: {_pct(r['keep_rate'])}% of {r['dialogues']} "
            f"({_pct(half['even'])}/{_pct(half['odd'])})  "
            f"{r['human_drops']}"
        )
    print("\nCorruptions: dropped % / right gate and field % (gates that dropped)")
    _class_table(res, classes, 26, _drop_cell)
    print("\nRight gate and field %, even / odd half")
    _class_table(res, classes, 16, _parity_cell)


def _drop_cell(c: dict) -> str:
    gates = "/".join(g for g, _ in sorted(c["by_gate"].items(), key=lambda x: -x[1]))
    return f"{_pct(c['drop_rate'])}/{_pct(c['right_rate'])} {gates}"


def _parity_cell(c: dict) -> str:
    return f"{_pct(c['right_rate_by_parity']['even'])}/{_pct(c['right_rate_by_parity']['odd'])}"


def _class_table(res: dict, classes: list[str], width: int, cell) -> None:
    """One row per corruption class, one ``cell(class result)`` column per language ("n/a" where absent)."""
    langs = list(res)
    print(f"{'class':<17}" + "".join(f"{c:>{width}}" for c in langs))
    for kind in classes:
        found = [res[code]["classes"].get(kind) for code in langs]
        cells = ["n/a" if c is None else cell(c) for c in found]
        print(f"{kind:<17}" + "".join(f"{x:>{width}}" for x in cells))


def main(argv=None) -> int:
    ap = parser(__doc__)
    ap.add_argument("--xpersona", type=Path, default=xpersona_dir())
    ap.add_argument("--config", default=None)
    ap.add_argument(
        "--languages", default=None, help="comma-separated (default: every XPersona language present)"
    )
    ap.add_argument("--classes", default=None, help=f"comma-separated, from {', '.join(CLASSES)}")
    ap.add_argument(
        "--misses", type=int, default=0, help="print this many missed probes per class and language"
    )
    ap.add_argument("--seed", type=int, default=0)
    args = parse(ap, argv, tiny={"languages": "fr,ja"})
    if not args.xpersona.is_dir():
        if args.tiny:
            return skip(args, "filters_acceptance", "xpersona", f"XPersona folder not found: {args.xpersona}")
        print(f"XPersona folder not found: {args.xpersona}", file=sys.stderr)
        return 2
    classes = args.classes.split(",") if args.classes else list(CLASSES)
    unknown = [c for c in classes if c not in CLASSES]
    if unknown:
        print(
            f"--classes: unknown {', '.join(unknown)}; expected some of {', '.join(CLASSES)}", file=sys.stderr
        )
        return 2
    res = measure(
        args.xpersona,
        args.config,
        seed=args.seed,
        languages=args.languages.split(",") if args.languages else None,
        classes=classes,
        misses=args.misses,
    )
    print_tables(res, classes)
    if args.misses:
        for code, r in res.items():
            for reason in r["human_drop_reasons"]:
                print(f"[{code} real dropped] {reason}")
            for kind, c in r["classes"].items():
                for miss in c["misses"]:
                    print(f"[{code} {kind}] {miss['drop'] or 'KEPT'} | {' || '.join(miss['texts'])[:200]}")
    return finish(args, "filters_acceptance", res, table="")


if __name__ == "__main__":
    sys.exit(main())
