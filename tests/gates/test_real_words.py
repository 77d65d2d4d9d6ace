"""Real words and real conversation (issue #23): invented words (lexicon gate, wordfreq lists), persona
"sentences" that are labels, numbers or timestamps (persona_form), turns repeating an earlier one with a word
changed (repetition), remarks about the language or the task (leakage, meta_remark) and a common ground that
restates the personas or copies a prompt label (common_ground)."""

from __future__ import annotations

import pytest

from moud_core.languages import DEFAULT_LANGUAGES
from moud_gates.gates.lexicon import known_words, lexicon_data
from moud_gates.gates.meta_remarks import meta_data
from moud_gates.inline import TextGates
from moud_gates.pipeline import FilterPipeline
from tests.gates.helpers import make_row, with_turn


@pytest.fixture(scope="module")
def gates():
    return TextGates.from_config()


def gate_of(gates, code, field, text, **kw):
    drop = gates.check(code, field, text, **kw)
    return None if drop is None else drop.gate


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("fr", "Je suis le flarmitude de la bontrevalle et je mangerote des pifouches."),
        ("es", "La sentrada cabelisa del pomardo es muy frantosa."),
        ("it", "Il mio gatterone sbrulla la fenostra con le pirlacche."),
    ],
)
def test_invented_words_are_dropped(gates, code, text):
    drop = gates.check(code, "turns[1]", text)
    assert drop is not None and drop.gate == "lexicon" and len(drop.scores["unknown"]) >= 3, drop


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("fr", "je suis au collèg et j'aprrends l'économie."),  # typos of a real chat turn
        ("fr", "J'adore regarder Netflix le weekend avec mon chihuahua."),  # borrowings, a breed
        ("es", "Yo estoy muy contento de la vida que llevo en Sevilla."),
        ("id", "Saya suka sekali makan nasi goreng di warung dekat rumah."),
    ],
)
def test_real_words_are_kept(gates, code, text):
    assert gate_of(gates, code, "turns[1]", text) is None


def test_every_default_language_has_a_wordlist_or_says_what_it_gets():
    data = lexicon_data()
    for code in DEFAULT_LANGUAGES:
        assert (code in data["wordlists"]) != (code in data["uncovered"]), code
        if code in data["wordlists"]:
            assert len(known_words(code)[0]) > 5000, code


@pytest.mark.parametrize(
    ("code", "text", "kind"),
    [
        ("fr", "Nom : Camille", "label"),
        ("fr", "Profession: infirmière", "label"),
        ("fr", "34", "number"),
        ("fr", "14:30", "number"),
        ("fr", "Camille.", "too_short"),
        ("zh", "名字：王丽", "label"),
        ("zh", "34岁", "number"),
    ],
)
def test_persona_sentences_must_be_sentences(gates, code, text, kind):
    drop = gates.check(code, "persona_a[1]", text)
    assert drop is not None and drop.gate == "persona_form" and drop.scores["kind"] == kind, drop


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("fr", "J'ai 34 ans."),
        ("fr", "Mon rêve : visiter le Japon un jour."),
        ("zh", "我四岁。"),
        ("ko", "24살이야."),
    ],
)
def test_short_real_persona_sentences_are_kept(gates, code, text):
    assert gate_of(gates, code, "persona_a[1]", text) is None
    assert gate_of(gates, code, "turns[1]", text) in (None, "lid")  # persona_form judges personas only


def test_a_turn_with_a_word_changed_is_a_repeat(gates):
    earlier = [
        "Salut, tu vas au marché demain matin avec ta sœur ?",
        "Oui, je pense y aller vers neuf heures.",
    ]
    changed = "Salut, tu vas au cinéma demain matin avec ta sœur ?"
    drop = gates.check("fr", "turns[2]", changed, earlier_turns=earlier)
    assert drop is not None and drop.gate == "repetition" and drop.scores["kind"] == "near_repeat"
    other = "Salut, tu vas au cinéma demain soir avec ton frère ?"  # four words changed: another question
    assert gate_of(gates, "fr", "turns[2]", other, earlier_turns=earlier) is None
    # offline the same speaker's second changed repeat fails the dialogue (one is tolerated)
    row = make_row("fr")
    base = row["turns"][0]["text"]
    row = with_turn(
        with_turn(row, 2, base.replace("souvent", "parfois")), 4, base.replace("samedi", "dimanche")
    )
    result = FilterPipeline.from_config().check(row)
    assert result.drop is not None and result.drop.gate == "repetition", result.drop


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("fr", "Cette phrase est en français."),
        ("fr", "This sentence is in French."),
        ("es", "Ejercicio en español: hablar del tiempo."),
        ("de", "Übung auf Deutsch: Sprich über das Wetter."),
        ("zh", "这句话是中文。"),
        ("ja", "この文は日本語です。"),
        ("ru", "Это предложение на русском языке."),
        ("id", "Kalimat ini dalam bahasa Indonesia."),
    ],
)
def test_meta_remarks_are_dropped(gates, code, text):
    for field in ("turns[1]", "persona_a[0]", "common_ground"):
        drop = gates.check(code, field, text)
        assert drop is not None and drop.gate == "leakage" and drop.scores["kind"] == "meta_remark", (
            field,
            drop,
        )


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("fr", "Je parle français et un peu anglais."),
        ("fr", "Ma prof de français est très sympa."),
        ("it", "Sto imparando l'inglese."),
    ],
)
def test_talking_about_languages_is_kept(gates, code, text):
    assert gate_of(gates, code, "turns[1]", text) is None


def test_every_default_language_has_meta_remark_words():
    data = meta_data()
    assert all(data[code]["nouns"] and data[code]["names"] for code in DEFAULT_LANGUAGES)


PERSONAS = ["Je m'appelle Camille et j'habite à Lyon.", "Je travaille comme infirmière à l'hôpital."]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (
            "Je m'appelle Camille et j'habite à Lyon. Je travaille comme infirmière à l'hôpital.",
            "persona_restated",
        ),
        ("Je suis la personne A et je rencontre la personne B au marché.", "prompt_label"),
        ("Camille, la Persona A, retrouve Julien au marché un samedi matin.", "prompt_label"),
    ],
)
def test_common_ground_restating_personas_or_copying_a_label_is_rejected(gates, text, kind):
    drop = gates.check("fr", "common_ground", text, personas=PERSONAS)
    assert drop is not None and drop.gate == "common_ground" and drop.scores["kind"] == kind, drop
    row = make_row("fr")
    row["persona_a"], row["common_ground"] = list(PERSONAS), text
    result = FilterPipeline.from_config().check(row)
    assert result.drop is not None and result.drop.gate == "common_ground", result.drop


def test_a_common_ground_using_persona_facts_is_kept(gates):
    text = "Camille, infirmière à Lyon, retrouve Julien au marché de la Croix-Rousse un samedi matin."
    assert gate_of(gates, "fr", "common_ground", text, personas=PERSONAS) is None


@pytest.mark.parametrize(
    ("code", "text", "kept"),
    [
        ("it", "si é okay ma preferisco il rock.", True),  # a wrong accent: lid.176 says Portuguese
        ("it", "Saya suka sekali makan nasi goreng di warung dekat rumah.", False),  # Indonesian
        ("id", "Mi piace molto mangiare la pizza con i miei amici.", False),  # Italian
        ("fr", "Mi piace molto mangiare la pizza con i miei amici.", False),
    ],
)
def test_informal_native_text_is_kept_and_a_neighbour_language_is_not(gates, code, text, kept):
    drop = gates.check(code, "turns[3]", text)
    assert (drop is None) == kept, drop
    if not kept:
        assert drop.gate == "lid"
