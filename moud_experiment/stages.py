"""The stages of an experiment, in order, from a recipe: each one ``moud`` command (or one small in-process
step) with its argv, its output folder ``DIR/<stage>/``, the stages it reads and the files whose content is
part of its fingerprint. A stage that cannot run (XPersona absent) carries the reason instead."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from moud_core.atomic import atomic_write_text
from moud_experiment.commands import flags
from moud_experiment.recipe import SCRIPTED, Recipe


@dataclass
class Stage:
    name: str
    command: str | None  # a moud command, or None for an in-process step (``action``)
    out: Path
    argv: list[str] = field(default_factory=list)
    inputs: tuple[str, ...] = ()
    files: tuple[Path, ...] = ()  # generated configs and external inputs, fingerprinted by content
    resumable: bool = False  # the command resumes a partial output itself (generate, judge): keep it
    skip_reason: str | None = None
    action: str | None = None  # name of an in-process step (moud_experiment.steps)


def _write(path: Path, data: dict) -> Path:
    """A generated config (JSON, which YAML readers read), rewritten only when its content changes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        atomic_write_text(path, text)
    return path


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


def xpersona_folder(recipe: Recipe, out: Path) -> tuple[Path | None, str | None]:
    """(the XPersona folder the baselines read, why there is none)."""
    xp = recipe.baselines.xpersona
    if not xp.path:
        return None, "the recipe names no XPersona folder (baselines.xpersona.path)"
    src = Path(recipe.resolve(xp.path))
    if not src.is_dir():
        return None, f"XPersona not found at {src} (the full release: HLTCHKUST/Xpersona)"
    return (out / "xpersona" if xp.hold_out else src), None


def baseline_stages(recipe: Recipe, out: Path) -> list[Stage]:
    b = recipe.baselines
    langs = list(b.languages or recipe.languages)
    xp_dir, xp_missing = xpersona_folder(recipe, out)
    stages: list[Stage] = []
    xp_inputs: tuple[str, ...] = ()
    if xp_dir is not None and b.xpersona.hold_out:
        src = Path(recipe.resolve(b.xpersona.path))
        stages.append(
            Stage(
                "xpersona", None, out / "xpersona", action="xpersona", files=tuple(sorted(src.glob("*.json")))
            )
        )
        xp_inputs = ("xpersona",)
    train_split = "train" if b.xpersona.hold_out else b.xpersona.train_split
    test_split = "test" if b.xpersona.hold_out else b.xpersona.test_split
    sources = {
        "moud": [{"type": "moud", "path": str(out / "build"), "split": "train"}],
        "xpersona": [{"type": "xpersona", "path": str(xp_dir), "split": train_split}],
    }
    sources["both"] = sources["moud"] + sources["xpersona"]
    models = {}
    for name in b.train:
        cfg = {
            "model": b.base_model,
            "train": sources[name],
            "languages": langs,
            "lora": b.lora,
            "epochs": b.epochs,
            "seed": recipe.seed,
            **b.train_options,
        }
        config = _write(out / "configs" / f"train-{name}.yaml", cfg)
        needs_xp = name in ("xpersona", "both")
        stage = Stage(
            f"train-{name}",
            "train",
            out / "train" / name,
            [
                "--config",
                str(config),
                "--out",
                str(out / "train" / name),
                "--quiet",
                *(["--threads", str(b.threads)] if b.threads else []),
            ],
            inputs=("build", *(xp_inputs if needs_xp else ())),
            files=(config,),
            skip_reason=xp_missing if needs_xp else None,
        )
        stages.append(stage)
        if stage.skip_reason is None:
            models[name] = str(stage.out)
    tests = {}
    for test in b.tests:
        if test == "moud":
            tests["moud"] = {"type": "moud", "path": str(out / "build"), "split": "test"}
        elif xp_dir is not None:
            tests["xpersona"] = {"type": "xpersona", "path": str(xp_dir), "split": test_split}
    matrix = {"models": models, "tests": tests, "languages": langs, "seed": recipe.seed, **b.evaluate_options}
    config = _write(out / "configs" / "matrix.yaml", matrix)
    stages.append(
        Stage(
            "evaluate",
            "evaluate",
            out / "eval",
            [
                "--matrix",
                str(config),
                "--out",
                str(out / "eval"),
                "--quiet",
                *(["--threads", str(b.threads)] if b.threads else []),
            ],
            inputs=tuple(s.name for s in stages if s.skip_reason is None),
            files=(config,),
            skip_reason=None if models else "no model was trained",
        )
    )
    return stages


def describe(stages: list[Stage]) -> str:
    """The stages as JSON (for the card and ``--plan``)."""
    return json.dumps([{"name": s.name, "command": s.command, "argv": s.argv} for s in stages], indent=2)
