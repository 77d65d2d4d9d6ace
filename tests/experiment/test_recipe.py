"""Recipes: the shipped ones load from any folder; a typo fails at load time naming the file and field."""

from __future__ import annotations

import pytest

from moud_core.errors import ConfigError
from moud_experiment.recipe import load_recipe
from tests import ROOT
from tests.cli import moud
from tests.experiment.helpers import write_recipe


@pytest.mark.parametrize("name", ["mini-cpu", "paper"])
def test_shipped_recipes_load_and_resolve_paths_against_their_folder(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the repository
    recipe = load_recipe(ROOT / "recipes" / f"{name}.yaml")
    assert recipe.generate.model and recipe.baselines is not None
    assert recipe.resolve("x/y") == str((ROOT / "recipes" / "x" / "y").resolve())
    assert recipe.resolve("scripted") == "scripted"


@pytest.mark.parametrize(
    "extra, field",
    [
        ("filterr: {}\n", "unknown section(s) filterr"),
        ("baselines: {epoch: 1}\n", "baselines: unknown key(s) epoch"),
        ("baselines: {epochs: many}\n", "baselines.epochs: expected a number"),
        ("baselines: {train: [moud, wikipedia]}\n", "unknown source(s) wikipedia"),
        ("baselines: {lora: 1}\n", "baselines.lora: expected true or false"),
    ],
)
def test_a_typo_is_one_line_naming_file_and_field(tmp_path, extra, field):
    path = write_recipe(tmp_path, extra=extra)
    with pytest.raises(ConfigError) as err:
        load_recipe(path)
    assert str(path) in str(err.value) and field in str(err.value)


def test_bad_recipe_exits_2_and_writes_nothing(tmp_path, capsys):
    path = write_recipe(tmp_path)
    path.write_text(path.read_text().replace("[0.6, 0.2, 0.2]", "[0.5, 0.5]"))
    assert moud("experiment", path, "--out", tmp_path / "exp") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "split_ratios" in err
    assert not (tmp_path / "exp").exists()
