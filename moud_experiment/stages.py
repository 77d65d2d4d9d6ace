"""The stages of an experiment, in order, from a recipe: each one ``moud`` command (or one small in-process
step) with its argv, its output folder ``DIR/<stage>/``, the stages it reads and the files whose content is
part of its fingerprint. A stage that cannot run (XPersona absent) carries the reason instead."""

from __future__ import annotations

import json
from pathlib import Path

from moud_experiment.baseline_stages import baseline_stages
from moud_experiment.commands import flags
from moud_experiment.recipe import SCRIPTED, Recipe
from moud_experiment.stage import Stage


def _url(base_url: str, server_url: str | None) -> str:
    return server_url or base_url if base_url == SCRIPTED else base_url


def plan_stages(recipe: Recipe, out: Path, servers: dict[str, str]) -> list[Stage]:
    """Every stage of ``recipe`` under ``out``; ``servers``: the scripted servers' base URLs by stage."""
    g, langs = recipe.generate, ",".join(recipe.languages)
    stages = [
        Stage(
            "generate",
            "generate",
            out / "generate",
            [
                "--out",
                str(out / "generate"),
                "--languages",
                langs,
                "--dialogues",
                str(g.dialogues_per_language),
                "--model",
                g.model,
                "--backend",
                g.backend,
                "--seed",
                str(recipe.seed),
                "--quiet",
                *(["--base-url", _url(g.base_url, servers.get("generate"))] if g.backend == "openai" else []),
                *flags(g.options),
            ],
            resumable=True,
        ),
        Stage(
            "filter",
            "filter",
            out / "filter",
            [
                "--in",
                str(out / "generate"),
                "--out",
                str(out / "filter"),
                "--overwrite",
                "--quiet",
                *(["--config", recipe.resolve(recipe.filter.config)] if recipe.filter.config else []),
                *flags(recipe.filter.options),
            ],
            inputs=("generate",),
            files=tuple(Path(recipe.resolve(p)) for p in [recipe.filter.config] if p),
        ),
        Stage(
            "build",
            "build",
            out / "build",
            [
                "--shards",
                str(out / "filter"),
                "--out",
                str(out / "build"),
                "--quiet",
                "--split-ratios",
                ",".join(map(str, recipe.build.split_ratios)),
                "--seed",
                str(recipe.build.seed),
                *flags(recipe.build.options),
            ],
            inputs=("filter",),
        ),
    ]
    j = recipe.judge
    if j is not None:
        stages.append(
            Stage(
                "judge",
                "judge",
                out / "judge",
                [
                    "--shards",
                    str(out / "filter"),
                    "--out",
                    str(out / "judge"),
                    "--judge-model",
                    j.model,
                    "--backend",
                    j.backend,
                    "--kinds",
                    ",".join(j.kinds),
                    "--seed",
                    str(recipe.seed),
                    "--quiet",
                    *(
                        ["--base-url", _url(j.base_url, servers.get("judge"))]
                        if j.backend == "openai"
                        else []
                    ),
                    *(["--rubric", recipe.resolve(j.rubric)] if j.rubric else []),
                    *(
                        ["--max-rows-per-language", str(j.max_rows_per_language)]
                        if j.max_rows_per_language
                        else []
                    ),
                    *flags(j.options),
                ],
                inputs=("filter",),
                resumable=True,
            )
        )
        stages.append(
            Stage(
                "report",
                "report",
                out / "report",
                [
                    "--judgments",
                    str(out / "judge" / "judgments.jsonl"),
                    "--shards",
                    str(out / "filter"),
                    "--out",
                    str(out / "report"),
                    "--seed",
                    str(recipe.seed),
                    "--quiet",
                    *(["--rubric", recipe.resolve(j.rubric)] if j.rubric else []),
                ],
                inputs=("judge", "filter"),
            )
        )
    r = recipe.review
    if r.per_language > 0:
        stages.append(
            Stage(
                "review",
                "review",
                out / "review",
                [
                    "sample",
                    "--dataset",
                    str(out / "build"),
                    "--languages",
                    langs,
                    "--per-language",
                    str(r.per_language),
                    "--raters",
                    str(r.raters),
                    "--seed",
                    str(recipe.seed),
                    "--out",
                    str(out / "review"),
                    *(["--judgments", str(out / "judge" / "judgments.jsonl")] if j is not None else []),
                    *flags(r.options),
                ],
                inputs=("build", *(("judge",) if j is not None else ())),
            )
        )
    if r.ratings and j is not None:
        ratings = Path(recipe.resolve(r.ratings))
        stages.append(
            Stage(
                "agreement",
                "agreement",
                out / "agreement",
                [
                    "--ratings",
                    str(ratings),
                    "--judgments",
                    str(out / "judge" / "judgments.jsonl"),
                    "--out",
                    str(out / "agreement"),
                    "--seed",
                    str(recipe.seed),
                ],
                inputs=("judge",),
                files=(ratings,),
                skip_reason=None if ratings.is_file() else f"no ratings file at {ratings}",
            )
        )
    if recipe.baselines is not None:
        stages += baseline_stages(recipe, out)
    stages.append(
        Stage("results", None, out / "results", inputs=tuple(s.name for s in stages), action="results")
    )
    return stages


def describe(stages: list[Stage]) -> str:
    """The stages as JSON (for the card and ``--plan``)."""
    return json.dumps([{"name": s.name, "command": s.command, "argv": s.argv} for s in stages], indent=2)
