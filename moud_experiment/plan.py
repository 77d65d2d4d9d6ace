"""``moud experiment RECIPE --plan``: run two small pilots of the recipe (``PILOTS`` dialogues per language, a
few training steps and evaluated turns) in ``DIR/plan/``, then forecast each stage at the recipe's full
size from the pilots' measured rates: requests, prompt and completion tokens, and time.

Requests and tokens scale with the number of dialogues. Each stage's time is fitted on the two pilots as a
fixed cost plus a cost per dialogue (generation, gates, build, judge), per training step or per evaluated
turn. Times assume the pilots' throughput: a server that is faster with more requests in flight (vLLM) makes
the real run faster than forecast, so the time is an upper bound there.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

from moud_core.atomic import atomic_write_text
from moud_experiment.experiment import run_experiment
from moud_experiment.recipe import Recipe, load_recipe
from moud_experiment.stage import json_or_empty

PILOTS = (4, 8)  # dialogues per language of the pilots (a train split needs other dialogues: distractors)
STEPS_PER_DIALOGUE = 2  # pilot training steps and evaluated turns per pilot dialogue


def pilot_recipe(recipe: Recipe, n: int) -> Recipe:
    """The recipe at pilot size ``n`` (same models, servers, gates and languages)."""
    pilot = replace(
        recipe,
        generate=replace(recipe.generate, dialogues_per_language=n),
        review=replace(recipe.review, per_language=0, ratings=None),
    )
    if recipe.judge is not None:
        pilot = replace(pilot, judge=replace(recipe.judge, max_rows_per_language=n))
    if recipe.baselines is not None:
        b = recipe.baselines
        pilot = replace(
            pilot,
            baselines=replace(
                b,
                train_options={**b.train_options, "max_steps": STEPS_PER_DIALOGUE * n},
                evaluate_options={**b.evaluate_options, "max_turns": STEPS_PER_DIALOGUE * n},
            ),
        )
    return pilot


def fit(t1: float, t2: float, n1: float, n2: float, n: float) -> float:
    """Time at size ``n`` on the line through (n1, t1) and (n2, t2): fixed + per-unit cost, never < 0."""
    per = max(0.0, (t2 - t1) / (n2 - n1))
    return max(0.0, t1 - per * n1) + per * n


def _fmt(n: float | None) -> str:
    if n is None:
        return "—"
    return f"{n / 1e6:.1f} M" if n >= 1e6 else f"{n / 1e3:.1f} k" if n >= 1e4 else f"{n:,.0f}"


def _time(s: float | None) -> str:
    if s is None:
        return "—"
    return f"{s / 3600:.1f} h" if s >= 3600 else f"{s / 60:.1f} min" if s >= 120 else f"{s:.0f} s"


def forecast(recipe: Recipe, dirs: list[Path], seconds: list[dict[str, float]]) -> list[dict]:
    """One row per stage: what the full run is expected to cost, from the two pilots' figures."""
    (_, d2), (s1, s2), (n1, n2) = dirs, seconds, PILOTS
    full = recipe.generate.dialogues_per_language
    made = json_or_empty(d2 / "generate" / "manifest.json").get("last_run", {})
    per_dialogue = full / max(1, made.get("made", 0) / len(recipe.languages))
    rows = [{"stage": "generate", "seconds": fit(s1["generate"], s2["generate"], n1, n2, full)}]
    rows[0] |= {k: made.get(k, 0) * per_dialogue for k in ("requests", "prompt_tokens", "completion_tokens")}
    for name in ("filter", "build"):
        rows.append({"stage": name, "seconds": fit(s1[name], s2[name], n1, n2, full)})
    if recipe.judge is not None:
        usage = json_or_empty(d2 / "judge" / "judge_manifest.json").get("usage", {})
        rows_full = min(recipe.judge.max_rows_per_language or full, full)
        row = {"stage": "judge", "seconds": fit(s1["judge"], s2["judge"], n1, n2, rows_full)}
        row |= {
            k: usage.get(k, 0) * rows_full / n2 for k in ("requests", "prompt_tokens", "completion_tokens")
        }
        rows += [row, {"stage": "report", "seconds": fit(s1["report"], s2["report"], n1, n2, rows_full)}]
    if recipe.baselines is not None:
        rows += _baseline_rows(recipe, d2, s1, s2, full / n2)
    return rows


def _baseline_rows(recipe: Recipe, pilot: Path, s1: dict, s2: dict, scale: float) -> list[dict]:
    rows = []
    b = recipe.baselines
    for name in b.train:
        summary = json_or_empty(pilot / "train" / name / "train_summary.json")
        if not summary:
            rows.append({"stage": f"train-{name}", "note": "not run in the pilot"})
            continue
        # the pilot stops after a few steps; its instance count is what the data offers at pilot size
        instances = summary["instances"] * (scale if name != "xpersona" else 1.0)  # XPersona does not grow
        if b.train_options.get("max_instances"):
            instances = min(instances, b.train_options["max_instances"])
        batch = b.train_options.get("batch_size", 4) * b.train_options.get("grad_accum", 1)
        steps = math.ceil(instances * b.epochs / max(1, batch))
        n1, n2 = (STEPS_PER_DIALOGUE * n for n in PILOTS)
        key = f"train-{name}"
        rows.append(
            {
                "stage": key,
                "instances": instances,
                "steps": steps,
                "seconds": fit(s1[key], s2[key], n1, n2, steps),
            }
        )
    if "evaluate" in s2:
        per_test = b.evaluate_options.get("max_turns")
        n1, n2 = (STEPS_PER_DIALOGUE * n for n in PILOTS)
        turns = per_test or n2 * scale
        rows.append(
            {
                "stage": "evaluate",
                "instances": turns,
                "seconds": fit(s1["evaluate"], s2["evaluate"], n1, n2, turns),
            }
        )
    return rows


def render(rows: list[dict], recipe: Recipe, pilot_seconds: float) -> str:
    head = "| stage | requests | prompt tokens | completion tokens | instances / steps | time |"
    lines = [
        f"Forecast for {recipe.path.name} at full size ({recipe.generate.dialogues_per_language} dialogues x "
        f"{len(recipe.languages)} languages), from pilots of {' and '.join(map(str, PILOTS))} dialogues per "
        "language "
        f"({pilot_seconds:.0f} s):",
        "",
        head,
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        inst = (
            ""
            if "instances" not in r
            else _fmt(r["instances"]) + (f" / {r['steps']:,} steps" if "steps" in r else "")
        )
        lines.append(
            f"| {r['stage']} | {_fmt(r.get('requests'))} | {_fmt(r.get('prompt_tokens'))} | "
            f"{_fmt(r.get('completion_tokens'))} | {inst or r.get('note', '')} | {_time(r.get('seconds'))} |"
        )
    total = sum(r.get("seconds") or 0 for r in rows)
    lines += ["", f"Total: about {_time(total)} at the pilot's throughput (see docs/experiment.md)."]
    return "\n".join(lines)


def plan_experiment(recipe_path: str | Path, out: str | Path, quiet: bool = False) -> str:
    """Run the two pilots into ``out/plan/`` and return the forecast (also in ``forecast.md``/``.json``)."""
    recipe = load_recipe(recipe_path)
    plan_dir = Path(out).resolve() / "plan"
    dirs, seconds = [], []
    for n in PILOTS:
        result = run_experiment(pilot_recipe(recipe, n), plan_dir / f"pilot-{n}", quiet=quiet)
        dirs.append(plan_dir / f"pilot-{n}")
        seconds.append({r.name: r.seconds for r in result.stages})
    rows = forecast(recipe, dirs, seconds)
    text = render(rows, recipe, sum(seconds[0].values()) + sum(seconds[1].values()))
    atomic_write_text(plan_dir / "forecast.md", text + "\n")
    atomic_write_text(plan_dir / "forecast.json", json.dumps(rows, indent=2) + "\n")
    return text
