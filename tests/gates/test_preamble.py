"""Assistant preambles (an acknowledgement, "here is", the scene) in persona sentences, the common ground and
turns, in every default language, composed from data/preambles.yaml."""

from __future__ import annotations

import pytest

from generation.testing.slips import MATERIAL
from moud_core.languages import DEFAULT_LANGUAGES
from moud_gates.gates.preamble import preamble_data
from moud_gates.inline import TextGates


@pytest.fixture(scope="module")
def gates():
    return TextGates.from_config()


def leak_kind(gates, code, field, text):
    drop = gates.check(code, field, text)
    return None if drop is None or drop.gate != "leakage" else drop.scores["kind"]


@pytest.mark.parametrize("code", DEFAULT_LANGUAGES)
def test_every_default_language_composes_its_preambles(gates, code):
    entry = preamble_data()[code]
    ack, present, noun = entry["ack"][0], entry["present"][-1], entry["nouns"][0]
    for a, p, n in ((ack, present, noun), (entry["ack"][-1], entry["present"][0], entry["nouns"][-1])):
        preamble = f"{a}! {p} {n}:"
        for field in ("common_ground", "persona_a[0]", "turns[1]"):
            kind = leak_kind(gates, code, field, preamble)
            assert kind in ("assistant_preamble", "assistant_boilerplate"), (field, preamble)
    # in turns the acknowledgement is required; a noun is required everywhere
    assert leak_kind(gates, code, "turns[1]", f"{present} {noun}") is None
    assert leak_kind(gates, code, "common_ground", f"{ack}, {present}") is None


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("fr", "Bien sûr ! Voici la scène.\nCamille et Julien se connaissent depuis le lycée."),
        ("fr", "D'accord, c'est la situation suivante : Camille et Julien se croisent au marché."),
        ("en", "Of course! Below are the two personas you asked for."),
        ("es", "De acuerdo, esta es la situación. Lucía y Javier se conocen desde el colegio."),
        ("de", "Alles klar, hier ist die Situation. Jonas und Sabine kennen sich seit dem Studium."),
        ("zh", "好的，下面是场景。王丽和张伟是大学同学。"),
        ("ja", "わかりました、こちらが状況の説明です。佐藤さんと田中さんは同僚です。"),
        ("ar", "حسناً، هذا هو الموقف. أحمد ومحمود جاران منذ سنوات."),
        ("tr", "Tabii ki! İşte sahne: Ayşe ve Mehmet kafede buluşuyor."),
        ("ru", "Конечно! Вот сцена: Анна и Иван встречаются в кафе."),
    ],
)
def test_preambles_before_the_common_ground(gates, code, text):
    code = "fr" if code == "en" else code  # English preambles are looked for in every language
    assert leak_kind(gates, code, "common_ground", text) == "assistant_preamble"


@pytest.mark.parametrize("code", sorted(MATERIAL["languages"]))
def test_the_scripted_servers_scene_preambles_are_caught(gates, code):
    for line in MATERIAL["languages"][code]["scene_preamble"]:
        assert leak_kind(gates, code, "common_ground", f"{line} …") is not None, line


@pytest.mark.parametrize(
    ("code", "field", "text"),
    [
        ("fr", "turns[2]", "Oui, c'est une belle histoire, je te la raconterai."),
        ("fr", "turns[2]", "Voici la situation : je pars demain à Paris."),
        ("fr", "common_ground", "C'est l'histoire de Camille et Julien, deux amis d'enfance."),
        ("fr", "persona_a[0]", "Voici mon chien, il s'appelle Rex."),
        ("it", "turns[1]", "Sì, ecco il problema è che lavoro tutto il giorno."),
        ("zh", "turns[1]", "好的，这是我最喜欢的故事。"),
    ],
)
def test_people_talking_are_not_preambles(gates, code, field, text):
    assert leak_kind(gates, code, field, text) is None
