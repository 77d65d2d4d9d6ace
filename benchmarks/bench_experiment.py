"""The paper's experiment in miniature: wall time and peak memory (all processes) of
``moud experiment recipes/mini-cpu.yaml`` on this machine, and its ``--plan`` forecast against each stage's
actual time.

    python -m benchmarks.bench_experiment                  # the shipped mini recipe, with the forecast first
    python -m benchmarks.bench_experiment --skip-plan      # the run only
    python -m benchmarks.bench_experiment --tiny           # 6 dialogues per language, a few steps: it runs

The run is a fresh ``python -m moud_cli experiment`` process in a temporary folder; memory is the peak of the
summed resident memory of that process and its children, sampled every 0.2 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

from benchmarks.harness import ROOT, finish, parse, parser, xpersona_dir

MINI = ROOT / "recipes" / "mini-cpu.yaml"


def tiny_recipe(folder: Path) -> Path:
    """The mini recipe at smoke size, written to ``folder`` (its XPersona path made absolute)."""
    data = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    data["generate"]["dialogues_per_language"] = 6  # a train split with other dialogues for distractors
    data["judge"]["max_rows_per_language"] = 2
    data["review"]["per_language"] = 1
    b = data["baselines"]
    b["xpersona"]["path"] = str(xpersona_dir())
    b["train_options"] |= {"max_steps": 2, "max_instances": 64}
    b["evaluate_options"] |= {"max_turns": 2, "max_new_tokens": 4}
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run(recipe: Path, out: Path, plan: bool) -> dict:
    cmd = [sys.executable, "-m", "moud_cli", "experiment", str(recipe), "--out", str(out)]
    if plan:
        cmd.append("--plan")
    start, peak = time.perf_counter(), 0
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ps = psutil.Process(proc.pid)
    while proc.poll() is None:
        peak = max(peak, _tree_rss(ps))
        time.sleep(0.2)
    output = proc.stdout.read()
    if proc.returncode:
        raise SystemExit(f"bench_experiment: {' '.join(cmd)} exited {proc.returncode}:\n{output[-3000:]}")
    return {"wall_seconds": time.perf_counter() - start, "peak_rss_mib": peak / 2**20, "output": output}


def stage_seconds(out: Path) -> dict[str, float]:
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8"))["seconds"]
        for p in sorted((out / ".stages").glob("*.json"), key=lambda p: p.stat().st_mtime)  # run order
        if not p.stem.endswith(".started")
    }


def main(argv=None) -> int:
    ap = parser(__doc__)
    ap.add_argument("--recipe", type=Path, default=MINI, help="recipe (default: recipes/mini-cpu.yaml)")
    ap.add_argument("--skip-plan", action="store_true", help="do not run --plan first")
    args = parse(ap, argv, tiny={"skip_plan": True})
    with tempfile.TemporaryDirectory(prefix="bench-experiment-") as tmp:
        tmp = Path(tmp)
        recipe = tiny_recipe(tmp) if args.tiny else args.recipe
        forecast = {}
        if not args.skip_plan:
            planned = run(recipe, tmp / "planned", plan=True)
            rows = json.loads((tmp / "planned" / "plan" / "forecast.json").read_text(encoding="utf-8"))
            forecast = {r["stage"]: r for r in rows}
            print(planned["output"])
        actual = run(recipe, tmp / "run", plan=False)
        seconds = stage_seconds(tmp / "run")
        results = {
            "recipe": str(recipe if not args.tiny else "mini-cpu at --tiny size"),
            "wall_seconds": actual["wall_seconds"],
            "peak_rss_mib": actual["peak_rss_mib"],
            "stages": {
                name: {"actual_seconds": s, "forecast_seconds": forecast.get(name, {}).get("seconds")}
                for name, s in seconds.items()
            },
            "forecast_plan_seconds": planned["wall_seconds"] if forecast else None,
        }
        table = [
            f"moud experiment {results['recipe']}: {results['wall_seconds']:.0f} s wall, "
            f"peak memory {results['peak_rss_mib']:.0f} MiB (all processes)",
            "",
            "| stage | forecast (--plan) | actual |",
            "|---|---|---|",
        ]
        for name, s in results["stages"].items():
            f = s["forecast_seconds"]
            table.append(f"| {name} | {'—' if f is None else f'{f:.1f} s'} | {s['actual_seconds']:.1f} s |")
    return finish(args, "bench_experiment", results, "\n".join(table))


if __name__ == "__main__":
    raise SystemExit(main())
