"""An experiment recipe (``recipes/*.yaml``): one YAML file naming every stage's settings, read into frozen
objects. Paths in the recipe are relative to the recipe file's folder, so a shipped recipe runs from any
folder.

A typo fails at load time with one line naming the file and the dotted field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from moud_core.errors import ConfigError
from moud_core.yamlio import load_yaml

SCRIPTED = "scripted"  # base_url value: the loopback server the experiment starts and stops itself
TRAIN_SOURCES = ("moud", "xpersona", "both")
TEST_SETS = ("moud", "xpersona")


@dataclass(frozen=True)
class Section:
    """One stage's settings: its named fields plus ``options``, any other flag of the stage's command."""

    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Generate(Section):
    model: str = ""
    base_url: str = SCRIPTED
    backend: str = "openai"
    dialogues_per_language: int = 20
    inject: str | None = None  # scripted server only: slips real models make (see fake_openai --inject)


@dataclass(frozen=True)
class Filter(Section):
    config: str | None = None


@dataclass(frozen=True)
class Build(Section):
    split_ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0


@dataclass(frozen=True)
class Judge(Section):
    model: str = ""
    base_url: str = SCRIPTED
    backend: str = "openai"
    kinds: tuple[str, ...] = ("persona", "common_ground", "dialogue")
    max_rows_per_language: int | None = None
    rubric: str | None = None


@dataclass(frozen=True)
class Review(Section):
    per_language: int = 0
    raters: int = 2
    ratings: str | None = None  # a human ratings CSV (moud review export) -> moud agreement


@dataclass(frozen=True)
class XPersona:
    path: str | None = None
    train_split: str = "train"
    test_split: str = "test"
    hold_out: float = 0.0  # > 0: carve train and test from one split (test_split), by persona, seeded


@dataclass(frozen=True)
class Baselines:
    base_model: str = "bigscience/bloom-560m"
    train: tuple[str, ...] = TRAIN_SOURCES
    tests: tuple[str, ...] = TEST_SETS
    languages: tuple[str, ...] = ()
    lora: bool = False
    epochs: float = 1.0
    threads: int = 0  # 0: the library default
    xpersona: XPersona = field(default_factory=XPersona)
    train_options: dict = field(default_factory=dict)
    evaluate_options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Recipe:
    path: Path
    name: str
    seed: int
    languages: tuple[str, ...]
    generate: Generate
    filter: Filter
    build: Build
    judge: Judge | None
    review: Review
    baselines: Baselines | None
    cost: dict = field(default_factory=dict)  # free text for the card: expected cost of the full run

    @property
    def folder(self) -> Path:
        return self.path.parent

    def resolve(self, value: str | None) -> str | None:
        """A recipe path made absolute against the recipe's folder (URLs and ``scripted`` unchanged)."""
        if value is None or value == SCRIPTED or "://" in value:
            return value
        p = Path(value).expanduser()
        return str(p if p.is_absolute() else (self.folder / p).resolve())

    def uses_scripted_server(self) -> bool:
        return self.generate.base_url == SCRIPTED or (
            self.judge is not None and self.judge.base_url == SCRIPTED
        )


_TYPES = {int: "an integer", float: "a number", str: "a string", bool: "true or false", dict: "a mapping"}


def _check(value, expected, where: str):
    """``value`` converted to the field's type, or a ConfigError naming ``where``."""
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected in (int, float) and isinstance(value, bool):
        raise ConfigError(f"{where}: expected {_TYPES[expected]}, got {value!r}")
    if expected in _TYPES and not isinstance(value, expected):
        raise ConfigError(f"{where}: expected {_TYPES[expected]}, got {value!r}")
    return value


def _section(cls, data, where: str, required: tuple[str, ...] = ()):
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping")
    fields = cls.__dataclass_fields__
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; expected some of {', '.join(fields)}"
        )
    for key in required:
        if not data.get(key):
            raise ConfigError(f"{where}.{key}: required")
    kwargs = {}
    for key, value in data.items():
        kind = fields[key].type
        if value is None:
            kwargs[key] = None
        elif kind.startswith("tuple"):
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, list):
                raise ConfigError(f"{where}.{key}: expected a list, got {value!r}")
            inner = float if "float" in kind else str
            kwargs[key] = tuple(_check(v, inner, f"{where}.{key}") for v in value)
        elif kind == "XPersona":
            kwargs[key] = _section(XPersona, value, f"{where}.{key}")
        else:
            base = {"int": int, "float": float, "bool": bool, "dict": dict}.get(kind.split(" ")[0], str)
            kwargs[key] = _check(value, base, f"{where}.{key}")
    return cls(**kwargs)


def load_recipe(path: str | Path) -> Recipe:
    """The recipe at ``path`` (see ``recipes/mini-cpu.yaml`` for every field)."""
    path = Path(path).resolve()
    if not path.is_file():
        raise ConfigError(f"{path}: no such recipe file")
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections")
    top = (
        "recipe",
        "seed",
        "languages",
        "generate",
        "filter",
        "build",
        "judge",
        "review",
        "baselines",
        "cost",
    )
    unknown = sorted(set(data) - set(top))
    if unknown:
        raise ConfigError(
            f"{path}: unknown section(s) {', '.join(unknown)}; expected some of {', '.join(top)}"
        )
    langs = data.get("languages")
    if isinstance(langs, str):
        langs = [s.strip() for s in langs.split(",") if s.strip()]
    if not isinstance(langs, list) or not langs or not all(isinstance(x, str) for x in langs):
        raise ConfigError(f"{path}: languages: expected a non-empty list of language codes")
    where = str(path)
    recipe = Recipe(
        path=path,
        name=str(data.get("recipe") or path.stem),
        seed=_check(data.get("seed", 0), int, f"{where}: seed"),
        languages=tuple(langs),
        generate=_section(Generate, data.get("generate"), f"{where}: generate", ("model",)),
        filter=_section(Filter, data.get("filter"), f"{where}: filter"),
        build=_section(Build, data.get("build"), f"{where}: build"),
        judge=_section(Judge, data["judge"], f"{where}: judge", ("model",)) if data.get("judge") else None,
        review=_section(Review, data.get("review"), f"{where}: review"),
        baselines=_section(Baselines, data["baselines"], f"{where}: baselines")
        if data.get("baselines")
        else None,
        cost=_check(data.get("cost") or {}, dict, f"{where}: cost"),
    )
    _validate(recipe, where)
    return recipe


def _validate(recipe: Recipe, where: str) -> None:
    if len(recipe.build.split_ratios) != 3 or abs(sum(recipe.build.split_ratios) - 1) > 1e-6:
        raise ConfigError(f"{where}: build.split_ratios: expected three numbers that sum to 1")
    if recipe.generate.dialogues_per_language < 1:
        raise ConfigError(f"{where}: generate.dialogues_per_language: expected at least 1")
    b = recipe.baselines
    if b is None:
        return
    bad = [s for s in b.train if s not in TRAIN_SOURCES] + [t for t in b.tests if t not in TEST_SETS]
    if bad:
        raise ConfigError(
            f"{where}: baselines: unknown source(s) {', '.join(bad)}; train from {', '.join(TRAIN_SOURCES)}, "
            f"test on {', '.join(TEST_SETS)}"
        )
    if not 0 <= b.xpersona.hold_out < 1:
        raise ConfigError(f"{where}: baselines.xpersona.hold_out: expected a share in [0, 1)")
    if b.threads < 0:
        raise ConfigError(f"{where}: baselines.threads: expected 0 (library default) or more")
