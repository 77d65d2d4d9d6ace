"""What a real tiny instruct model writes when it cannot write the language (SmolLM2-135M served by
llama.cpp, French): a few invented words in every text (lexicon, dialogue rule), persona sentences that are
"Key: Value" labels of any length (persona_form), whole sentences said again in later turns with a word or two
changed (sentence_repeat), the same English word opening turn after turn and English words opening the
narration's sentences (english_opener). Each rule also keeps what people write."""

from __future__ import annotations

import pytest

from moud_gates.inline import TextGates
from moud_gates.pipeline import FilterPipeline
from tests.gates.helpers import make_row

# a few invented words per text, each text under the per-text share (the model's French, abridged)
SALAD = [
    "La ville au nord est déjà la coupe de la nouvelée.",
    "Le légion français est toujine pour les autorsités.",
    "Les jeunes et les dévouges sont des réussiteurs en ville.",
    "La nouvelle est le développement financier pour les autorsités douglasines.",
    "Il faut le développement financier pour la ville et les cheffeurs toujinez.",
    "Cette nouveilleur alibaba ne sera pas coupe la nube des amis.",
]


@pytest.fixture(scope="module")
def gates():
    return TextGates.from_config()


@pytest.fixture(scope="module")
def pipeline():
    return FilterPipeline.from_config()


def drop_of(pipeline, row):
    return pipeline.check(row).drop


def test_invented_words_sprinkled_over_a_dialogue_are_dropped(gates, pipeline):
    for text in SALAD:  # each text alone passes the per-text rule
        drop = gates.check("fr", "turns[0]", text)
        assert drop is None or drop.gate != "lexicon" or drop.scores.get("kind") == "dialogue", drop
    row = make_row("fr", SALAD)
    drop = drop_of(pipeline, row)
    assert drop is not None and drop.gate == "lexicon" and drop.scores["kind"] == "dialogue", drop
    assert drop.scores["share"] > 0.08
    # inline: a later turn with invented words is regenerated once the dialogue holds enough of them
    drop = gates.check("fr", "turns[5]", SALAD[5], earlier_turns=SALAD[:5])
    assert drop is not None and drop.gate == "lexicon", drop
    # ... but a clean turn after them is not blamed
    assert (
        gates.check("fr", "turns[5]", "Oui, je viens souvent ici le samedi matin.", earlier_turns=SALAD[:5])
        is None
    )


def test_a_dialogue_with_a_few_typos_is_kept(pipeline):
    row = make_row("fr")
    row["turns"][1]["text"] = "je suis au collèg et j'aprrends l'économie."
    row["turns"][3]["text"] = "mon chien s'apelle Rex, il est trés gentil."
    assert drop_of(pipeline, row) is None


@pytest.mark.parametrize(
    ("code", "text", "label"),
    [
        ("fr", "La vue: Leur dernier joueur et les enfants", True),
        ("fr", "Le développement : Un développement financier pour les autres que ce qui lui reste.", True),
        ("fr", "Les deux personas: \"Aujourd'hui à Orange", True),
        ("fr", "Nom : Camille", True),
        ("zh", "名字：王丽", True),
        ("fr", "J'ai trois passions : la musique, le sport et la cuisine.", False),
        ("fr", "Mon rêve : ouvrir une boulangerie à Lyon.", False),
        ("fr", "Je me lève à 6:30 tous les matins pour courir.", False),
        ("zh", "我有一个梦想：去日本旅行。", False),
    ],
)
def test_label_shaped_persona_sentences_of_any_length(gates, code, text, label):
    drop = gates.check(code, "persona_b[1]", text)
    assert (drop is not None and drop.gate == "persona_form" and drop.scores["kind"] == "label") == label, (
        drop
    )


REPEATED = "Il me faut le développement financier pour la ville avec notre ami."


def loop_turns(n: int) -> list[str]:
    """Turns that each add something new around one recycled sentence (a word changed each time)."""
    variants = [REPEATED, REPEATED.replace("notre", "mon"), REPEATED.replace("ville", "France"), REPEATED]
    fresh = [
        "Salut, tu viens souvent au marché ?",
        "Oui, j'adore les fromages du coin.",
        "Moi je préfère le pain de la boulangerie.",
        "Tu habites dans le quartier depuis longtemps ?",
    ]
    return [f"{fresh[i % 4]} {variants[i % 4]}" for i in range(n)]


def test_a_sentence_said_again_in_later_turns_is_a_loop(gates, pipeline):
    turns = loop_turns(4)
    row = make_row("fr", turns)
    drop = drop_of(pipeline, row)
    assert drop is not None and drop.gate == "sentence_repeat" and drop.field == "turns[3]", drop
    assert drop.scores["repeated_sentences"] == 3
    # inline (one repeat tolerated): the third saying is regenerated, not the second
    assert gates.check("fr", "turns[1]", turns[1], earlier_turns=turns[:1]) is None
    drop = gates.check("fr", "turns[2]", turns[2], earlier_turns=turns[:2])
    assert drop is not None and drop.gate == "sentence_repeat", drop
    # a regenerated turn is judged against the same earlier turns again
    assert gates.check("fr", "turns[2]", "Moi je préfère le pain.", earlier_turns=turns[:2]) is None


def test_a_sentence_said_twice_is_kept(pipeline):
    row = make_row("fr")
    row["turns"][4]["text"] = "Ah bon. " + row["turns"][1]["text"] + " Et toi ?"
    drop = drop_of(pipeline, row)
    assert drop is None or drop.gate != "sentence_repeat", drop


def test_the_same_english_opener_turn_after_turn_is_dropped(gates, pipeline):
    turns = [
        "Madam, je voudrais savoir où se trouve le marché.",
        "Bien sûr, il est juste derrière la mairie.",
        "Madam, vous êtes très gentille, merci beaucoup.",
        "De rien, bonne journée à vous !",
        "Madam, une dernière question sur les horaires.",
        "Ils ouvrent à huit heures et ferment à midi.",
        "Madam, merci encore et à bientôt !",
    ]
    row = make_row("fr", turns)
    drop = drop_of(pipeline, row)
    assert drop is not None and drop.gate == "english_opener" and drop.field == "turns[6]", drop
    # inline (two tolerated) the third one is regenerated
    drop = gates.check("fr", "turns[4]", turns[4], earlier_turns=turns[:4])
    assert drop is not None and drop.gate == "english_opener" and drop.scores["turns"] == 3, drop
    # people's code-switching: "lol" and "well" twice, and "ok", a French word too, in every turn
    rest = [
        "je suis d'accord avec toi.",
        "on se voit demain alors ?",
        "tu as raison, c'est loin.",
        "à plus !",
    ]
    for words in (["lol", "lol", "well"], ["ok", "ok", "ok", "ok"]):
        turns = [f"{w}, {r}" for w, r in zip(words, rest, strict=False)]
        for i in range(1, len(turns)):
            assert gates.check("fr", f"turns[{i}]", turns[i], earlier_turns=turns[:i]) is None, words


@pytest.mark.parametrize(
    ("text", "dropped"),
    [
        ("Camille et Julien se retrouvent au marché. The 1920s est leur époque préférée.", True),
        ("Camille retrouve Julien au marché. Well, ils parlent de cuisine.", True),
        ("Camille et Julien se retrouvent au marché de Lyon un samedi matin.", False),
        ("Netflix est la passion de Camille, qui retrouve Julien au café.", False),
    ],
)
def test_english_words_opening_the_narration(gates, text, dropped):
    drop = gates.check("fr", "common_ground", text)
    assert (drop is not None and drop.gate == "english_opener") == dropped, drop
