"""The persona_twin gate: persona B repeating persona A (shared sentences, reordered, near-duplicates, the
same first name) is dropped by ``moud filter`` and rejected inline; distinct people sharing a word
are kept."""

from __future__ import annotations

import pytest

from moud_gates.inline import TextGates
from moud_gates.pipeline import FilterPipeline
from tests.gates.helpers import make_row

PERSONA_A = [
    "Je m'appelle Camille et j'habite à Lyon.",
    "Le dimanche, je fais du vélo le long du Rhône.",
    "Je travaille comme infirmière à l'hôpital.",
    "J'ai un chat qui s'appelle Praline.",
]
TWINS = {
    "shared_sentence": ["Je suis étudiante à Lille.", "Je travaille comme infirmière à l'hôpital."],
    "reordered": list(reversed(PERSONA_A)),
    "near_duplicate": ["Le samedi, je fais du vélo le long du Rhône.", "J'adore le chocolat noir."],
    "same_name": ["Moi, c'est Camille, et je suis étudiante.", "J'adore le chocolat noir."],
}
DISTINCT = [
    "Je m'appelle Julien et j'habite à Lyon.",  # another name in the same frame, the same city
    "Je fais du vélo avec mon club tous les samedis.",  # shares "vélo" (a hobby word)
    "Je travaille comme boulanger à Villeurbanne.",  # the same sentence frame, another job
    "J'ai un chien qui s'appelle Biscotte.",
]


@pytest.fixture(scope="module")
def pipeline():
    return FilterPipeline.from_config()


@pytest.fixture(scope="module")
def gates():
    return TextGates.from_config()


def row_with(persona_b):
    row = make_row("fr")
    row["persona_a"], row["persona_b"] = list(PERSONA_A), list(persona_b)
    return row


@pytest.mark.parametrize("kind", list(TWINS))
def test_twins_are_dropped_offline(pipeline, kind):
    result = pipeline.check(row_with(TWINS[kind]))
    assert not result.kept and result.drop.gate == "persona_twin", result.drop
    assert result.drop.scores["kind"] == kind and "persona" in result.drop.reason


@pytest.mark.parametrize("kind", list(TWINS))
def test_twins_are_rejected_inline(gates, kind):
    drops = [gates.check("fr", f"persona_b[{i}]", s, personas=PERSONA_A) for i, s in enumerate(TWINS[kind])]
    found = [d for d in drops if d is not None]
    assert found and all(d.gate == "persona_twin" for d in found)
    assert found[0].scores["kind"] in ("shared_sentence", "near_duplicate", "same_name")
    # persona A's own sentences and persona B without persona A to compare with are not judged by it
    assert gates.check("fr", "persona_a[0]", TWINS[kind][0], personas=PERSONA_A) is None
    assert gates.check("fr", "persona_b[0]", TWINS[kind][0]) is None


def test_distinct_people_sharing_words_are_kept(pipeline, gates):
    result = pipeline.check(row_with(DISTINCT))
    assert result.kept, result.drop
    for i, s in enumerate(DISTINCT):
        assert gates.check("fr", f"persona_b[{i}]", s, personas=PERSONA_A) is None, s


@pytest.mark.parametrize(
    ("code", "a", "b", "twin"),
    [
        ("zh", "我叫王丽，住在成都。", "我叫王丽，是一名老师。", True),
        ("zh", "我叫王丽，住在成都。", "我叫李明，是一名老师。", False),
        ("ko", "제 이름은 민준이에요.", "제 이름은 민준입니다. 저는 학생이에요.", True),
        ("ja", "私は大阪に住んでいる会社員です。", "私は大阪に住んでいる会社員です。", True),
        ("ja", "私は大阪に住んでいる会社員です。", "私は札幌に住んでいる学生です。", False),
        ("ru", "Меня зовут Анна, я живу в Казани.", "Меня зовут Анна, я учусь в Москве.", True),
    ],
)
def test_other_languages(gates, code, a, b, twin):
    drop = gates.check(code, "persona_b[0]", b, personas=[a])
    assert (drop is not None and drop.gate == "persona_twin") == twin, drop
