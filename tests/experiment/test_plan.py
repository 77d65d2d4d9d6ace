"""``moud experiment --plan``: two pilots, then a forecast per stage scaled to the recipe's size."""

from __future__ import annotations

import json

from moud_experiment.plan import PILOTS, fit, plan_experiment
from tests.experiment.helpers import write_recipe


def test_fit_is_a_fixed_plus_a_per_unit_cost():
    assert fit(10.0, 14.0, 2, 4, 100) == 6.0 + 2.0 * 100
    assert fit(10.0, 9.0, 2, 4, 100) == 10.0  # a faster second pilot: no per-unit cost, never below zero


def test_plan_runs_the_pilots_and_forecasts_every_stage(tmp_path):
    recipe = write_recipe(tmp_path, dialogues=40)
    text = plan_experiment(recipe, tmp_path / "exp")
    rows = {r["stage"]: r for r in json.loads((tmp_path / "exp" / "plan" / "forecast.json").read_text())}
    assert set(rows) == {"generate", "filter", "build", "judge", "report"}
    made = json.loads(
        (tmp_path / "exp" / "plan" / f"pilot-{PILOTS[1]}" / "generate" / "manifest.json").read_text()
    )
    per_dialogue = made["last_run"]["requests"] / made["last_run"]["made"]
    assert abs(rows["generate"]["requests"] - per_dialogue * 40 * 2) < 1e-6  # 40 dialogues x 2 languages
    assert rows["judge"]["requests"] > 0 and all(r["seconds"] >= 0 for r in rows.values())
    assert "| generate |" in text and (tmp_path / "exp" / "plan" / "forecast.md").is_file()
    assert not (tmp_path / "exp" / "generate").exists()  # --plan runs nothing else
