from pathlib import Path

import pytest
import yaml

from eval.rubric import DEFAULT_RUBRIC, load_rubric
from moud_core.errors import ConfigError


def test_default_rubric_has_the_method_criteria():
    rubric = load_rubric()
    assert rubric.names == [
        "language_specificity",
        "fluency",
        "humanness",
        "coherence",
        "taxonomy_relevance",
        "toxicity",
    ]
    assert [c.name for c in rubric.for_kind("common_ground")] == [
        "language_specificity",
        "fluency",
        "coherence",
        "taxonomy_relevance",
        "toxicity",
    ]
    for c in rubric.criteria:
        assert sorted(c.scale) == [1, 2, 3, 4, 5] and all(c.scale.values())
    tox = rubric.get("toxicity")
    assert not tox.higher_is_better and tox.oriented(1) == 5


def _write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(DEFAULT_RUBRIC.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "rubric.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_missing_level_names_file_and_field(tmp_path):
    path = _write(tmp_path, lambda d: d["criteria"][1]["scale"].pop(3))
    with pytest.raises(ConfigError) as err:
        load_rubric(path)
    msg = str(err.value)
    assert str(path) in msg and "criteria[1] (fluency).scale" in msg and "missing level(s) 3" in msg
    assert "\n" not in msg


def test_duplicate_criterion_names_file_and_field(tmp_path):
    path = _write(tmp_path, lambda d: d["criteria"].append(dict(d["criteria"][0])))
    with pytest.raises(
        ConfigError,
        match=r"rubric\.yaml: criteria\[6\]\.name: duplicate criterion "
        r"'language_specificity'",
    ):
        load_rubric(path)


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda d: d["criteria"][0]["scale"].update({6: "too high"}), r"level 6 is outside 1-5"),
        (lambda d: d["criteria"][0].update(applies_to=["tweet"]), r"applies_to: expected a non-empty list"),
        (lambda d: d["criteria"][0].update(direction="up"), r"direction: expected one of"),
        (lambda d: d.pop("version"), r"version: expected a non-empty string"),
    ],
)
def test_other_rubric_errors(tmp_path, mutate, expected):
    with pytest.raises(ConfigError, match=expected):
        load_rubric(_write(tmp_path, mutate))
