"""The shared harness of the benchmark scripts: common flags, interleaved rounds, spreads, one JSON result.

    ap = harness.parser(__doc__, rounds=3)                  # adds --rounds, --json, --tiny
    args = harness.parse(ap, argv, tiny={"dialogues": 8})   # --tiny: these defaults (explicit flags win)
    runs = harness.interleave({"a": run_a, "b": run_b}, args.rounds)
    return harness.finish(args, "bench_x", {"configs": harness.summarize_configs(runs)})

Every script writes the same JSON document with ``--json PATH`` (atomically): ``benchmark``, ``tiny``,
``rounds``, ``machine``, ``skipped`` (null, or ``{"reason", "why"}`` when something optional is missing)
and ``results``. Run the scripts as modules from the repository root: ``python -m benchmarks.NAME``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
from collections.abc import Callable
from pathlib import Path

from moud_core.atomic import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]


def xpersona_dir() -> Path:
    """The XPersona folder: $MOUD_XPERSONA_DIR, else ../shared/data/xpersona next to the repository."""
    return Path(os.environ.get("MOUD_XPERSONA_DIR", ROOT.parent / "shared" / "data" / "xpersona"))


def common_flags(rounds: int = 1) -> argparse.ArgumentParser:
    """The argparse parent every script shares: ``--rounds``, ``--json``, ``--tiny``."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("benchmark harness")
    group.add_argument(
        "--rounds", type=int, default=rounds, help=f"interleaved rounds over the configurations ({rounds})"
    )
    group.add_argument("--json", type=Path, help="also write the result as JSON to this file")
    group.add_argument(
        "--tiny", action="store_true", help="smoke size: checks the script runs; the numbers mean nothing"
    )
    return parent


def parser(doc: str | None, rounds: int = 1) -> argparse.ArgumentParser:
    """An argument parser with ``doc`` as description and the common flags."""
    return argparse.ArgumentParser(
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common_flags(rounds)],
    )


def parse(ap: argparse.ArgumentParser, argv=None, tiny: dict | None = None) -> argparse.Namespace:
    """Parse ``argv``; with ``--tiny`` the defaults become ``tiny`` (and one round), flags given still win."""
    args = ap.parse_args(argv)
    if args.tiny:
        ap.set_defaults(**{"rounds": 1, **(tiny or {})})
        args = ap.parse_args(argv)
    if args.rounds < 1:
        ap.error(f"--rounds: expected at least 1, got {args.rounds}")
    return args


def interleave(configs: dict[str, Callable[[], dict]], rounds: int) -> dict[str, list[dict]]:
    """Run every configuration once per round, each round starting one configuration later (so load from
    other processes hits all alike); returns each configuration's results in round order."""
    names = list(configs)
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            runs[name].append(configs[name]())
    return runs


def spread(values: list[float]) -> dict:
    """Median, min and max of ``values``."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _numeric(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def summarize(runs: list[dict]) -> dict:
    """The spread of every numeric field that all ``runs`` have."""
    keys = [k for k, v in runs[0].items() if _numeric(v) and all(_numeric(r.get(k)) for r in runs)]
    return {k: spread([r[k] for r in runs]) for k in keys}


def summarize_configs(runs: dict[str, list[dict]]) -> dict:
    """Per configuration: its rounds and the spread of their numeric fields."""
    return {name: {"rounds": rs, "spread": summarize(rs)} for name, rs in runs.items()}


def spread_table(configs: dict, metrics: list[str], digits: int = 1) -> str:
    """A Markdown table: one row per configuration, ``median [min, max]`` of each metric."""
    lines = ["| configuration | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    for name, c in configs.items():
        cells = []
        for m in metrics:
            s = c["spread"].get(m)
            cells.append(
                "—"
                if s is None
                else f"{s['median']:,.{digits}f} [{s['min']:,.{digits}f}, {s['max']:,.{digits}f}]"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def spread_lines(spread_of: dict, digits: int = 2) -> str:
    """One line per metric of ``summarize``: ``name  median [min, max]``."""
    width = max(map(len, spread_of), default=0)
    return "\n".join(
        f"{k:<{width}}  {s['median']:,.{digits}f} [{s['min']:,.{digits}f}, {s['max']:,.{digits}f}]"
        for k, s in spread_of.items()
    )


def machine() -> dict:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def _write(args: argparse.Namespace, name: str, results, skipped: dict | None) -> None:
    if args.json:
        doc = {
            "benchmark": name,
            "tiny": args.tiny,
            "rounds": args.rounds,
            "machine": machine(),
            "skipped": skipped,
            "results": results,
        }
        atomic_write_text(args.json, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def finish(args: argparse.Namespace, name: str, results, table: str | None = None, code: int = 0) -> int:
    """Print ``table`` (default: the results as JSON), write the JSON document with ``--json``; ``code``."""
    print(table if table is not None else json.dumps(results, indent=2, ensure_ascii=False), flush=True)
    _write(args, name, results, None)
    return code


def skip(args: argparse.Namespace, name: str, reason: str, why: str) -> int:
    """Something optional is missing (``reason``: a short key such as ``model``): say so and exit 0."""
    print(f"skipped: {why}", flush=True)
    _write(args, name, None, {"reason": reason, "why": why})
    return 0
