"""The baselines' stages of an experiment: the XPersona carve (when ``hold_out`` > 0), one ``moud train``
per training source (moud, xpersona, both) and one ``moud evaluate --matrix`` over every model and test set.
A stage that needs XPersona where there is none carries the reason instead of running."""

from __future__ import annotations

from pathlib import Path

from moud_experiment.recipe import Recipe
from moud_experiment.stage import Stage, write_config


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
    split = {"split_seed": recipe.build.seed, "split_ratios": list(recipe.build.split_ratios)}
    moud = {"type": "moud", "path": str(out / "build"), **split}  # the split the build made, checked
    sources = {
        "moud": [{**moud, "split": "train"}],
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
        config = write_config(out / "configs" / f"train-{name}.yaml", cfg)
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
            tests["moud"] = {**moud, "split": "test"}
        elif xp_dir is not None:
            tests["xpersona"] = {"type": "xpersona", "path": str(xp_dir), "split": test_split}
    matrix = {"models": models, "tests": tests, "languages": langs, "seed": recipe.seed, **b.evaluate_options}
    config = write_config(out / "configs" / "matrix.yaml", matrix)
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
