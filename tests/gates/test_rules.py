"""The rules of issue #14, each on texts that pass without it: mixed-language segments, undetermined and
implausible LID labels, per-character Han/kana tokens, data-driven labels and boilerplate, near-repeats."""

from __future__ import annotations

from collections import Counter

import pytest

from moud_core.languages import DEFAULT_LANGUAGES, Language, get_language
from moud_gates.base import GateContext
from moud_gates.config import FilterConfig
from moud_gates.gates.labels import language_leakage, leakage_languages
from moud_gates.gates.lid import LidGate, LidModel, target_words
from moud_gates.gates.repetition import RepetitionGate
from moud_gates.inline import TextGates
from moud_gates.lid.rules import judge_whole
from moud_gates.pipeline import FilterPipeline
from moud_gates.segments import split_segments
from tests.gates.helpers import TEXTS, make_row, with_turn

CFG = FilterConfig.load(None)


def ctx(lang: str, gate: str, **over) -> GateContext:
    params = dict(CFG.for_language(get_language(lang))[gate], **over)
    return GateContext(get_language(lang), params, Counter(), {})


@pytest.fixture(scope="module")
def lid_gate():
    return LidGate(LidModel())


@pytest.fixture(scope="module")
def gates():
    return TextGates.from_config()


# --- mixed languages inside a turn ----------------------------------------------------------------------
GLOSSED = "non je ne le fais pas, je m'évanouis quand je vois du sang"
GLOSS = "No I don't, I faint when I see blood"


@pytest.mark.parametrize("form", [" ({})", " [{}]", " - {}", " — i.e. {}"])
def test_english_gloss_after_a_turn_is_dropped_quoting_it(gates, lid_gate, form):
    text = GLOSSED + form.format(GLOSS)
    drop = gates.check("fr", "turns[3]", text)
    assert drop.gate == "lid" and drop.scores["kind"] == "english_segment", drop
    assert drop.scores["field"] == "turns[3]" and drop.scores["segment"].endswith(GLOSS)
    assert repr(GLOSS)[1:-1] in drop.reason
    # the whole text alone passes: without segments the gloss would slip through
    verdict = judge_whole(text, lid_gate.model.predict([text], 5)[0], ctx("fr", "lid"))
    assert verdict is None


def test_gloss_in_a_cjk_turn_is_a_script_segment(gates):
    text = "저는 어릴 때부터 피를 보면 항상 기절해서 병원에 가는 게 정말 무서워요 (I faint when I see blood)"
    drop = gates.check("ko", "turns[1]", text)
    assert drop.gate == "script" and drop.scores["segment"] == "I faint when I see blood"
    assert gates.check("ko", "turns[1]", "저는 BTS를 정말 좋아해요 (BTS)") is None  # a name, not a gloss


def test_an_english_sentence_in_a_long_turn(gates):
    text = (
        "C'est génial, j'adore vraiment la montagne et les randonnées. "
        "I also love hiking with my dog in the mountains every weekend."
    )
    drop = gates.check("fr", "turns[2]", text)
    assert drop.gate == "lid" and drop.scores["kind"] == "english_segment"
    assert drop.scores["segment"].startswith("I also love hiking")


def test_segments():
    assert split_segments("oui (yes) - ok. Bien.") == (
        ("bracket", "yes"),
        ("gloss", "oui"),
        ("gloss", "ok. Bien."),
        ("sentence", "ok."),
        ("sentence", "Bien."),
    )
    assert split_segments("Une seule phrase, sans rien d'autre !") == ()
    assert split_segments("week-end de 10–20 personnes") == ()


# --- language ID: undetermined and implausible labels ----------------------------------------------------
UNKNOWN = ["听起来很不错 哦，那你还年轻", "狗，虽然他真的很讨喜 听起来很不错"]  # no n-gram lid.176.ftz knows


@pytest.mark.parametrize("text", UNKNOWN)
def test_no_known_ngram_is_undetermined_not_wrong(lid_gate, text):
    assert lid_gate.model.predict([text], 5)[0] == lid_gate.model.prior(5)  # the prior: en, ca, de
    c = ctx("zh", "lid")
    pre = lid_gate.predict_texts([text], get_language("zh"), c.params)
    verdict = lid_gate.judge(text, 20, pre, c)
    assert verdict.undetermined and verdict.failure is None
    row = with_turn(make_row("zh"), 2, text)
    c = ctx("zh", "lid")
    assert lid_gate.check(row, c) is None and c.counters["undetermined"] == 1
    # on the prior's word (en 0.12, ca 0.09, de 0.08) it would have failed: zh not in the top-3
    assert judge_whole(text, lid_gate.model.prior(5), c).kind == "not_target"


def test_mostly_undetermined_dialogue_is_dropped(lid_gate):
    texts = [*UNKNOWN, "哦，那你还年轻 听起来很不错", "听起来很不错 狗，虽然他真的很讨喜"] + TEXTS["zh"][:2]
    row = make_row("zh", texts)
    row["persona_a"] = row["persona_b"] = ["我喜欢狗。"]
    drop = lid_gate.check(row, ctx("zh", "lid"))
    assert drop is not None and drop.scores["kind"] == "undetermined", drop
    assert lid_gate.check(row, ctx("zh", "lid", max_undetermined_share=1.0)) is None


def test_labels_of_another_script_are_ignored(lid_gate):
    text = "听起来很有趣！哈哈哈哈哈"  # one known n-gram: lid.176 says pt 0.96
    assert lid_gate.model.predict([text], 1)[0][0][0] == "pt"
    assert lid_gate.check(with_turn(make_row("zh"), 1, text), ctx("zh", "lid")) is None


def test_stats_report_undetermined():
    pipe = FilterPipeline.from_config(None)
    pipe.check(with_turn(make_row("zh"), 2, UNKNOWN[0]))
    assert pipe.stats_dict()["languages"]["zh"]["undetermined"] == 1


@pytest.mark.parametrize(
    "lang,text,kind",
    [
        ("it", "Saya ingin sekali bekerja di restoran!", "foreign_top1"),  # id 0.77 / it 0.024
        ("it", "I mainly cook italian, and garlic bread.", "english_turn"),  # en 0.94 / it 0.014
        ("fr", "I am a girl.", "english_turn"),  # short: English function words, the model says de
    ],
)
def test_same_script_language_when_lid_is_unsure(gates, lang, text, kind):
    drop = gates.check(lang, "turns[1]", text)
    assert drop is not None and drop.gate == "lid" and drop.scores["kind"] == kind, drop


def test_italian_target_words_hold_no_words_of_other_languages():
    assert not {"hai", "come"} & target_words("it")  # Indonesian "hi", English "come"


# --- script: Han and kana are characters whatever the language -------------------------------------------
@pytest.mark.parametrize(
    "lang,text",
    [
        ("ko", "我也很喜欢狗。"),  # 7 Han characters: used to count as one token inside Korean
        ("ko", "私もそう思う。"),
        ("fr", "我也很喜欢狗。"),
        ("it", "거기는 어땠어?"),  # Hangul words: too few tokens for the share rule, no Latin letter at all
        ("ja", "我也很喜欢日本菜"),  # Chinese in Japanese: no kana in 8 Han characters
    ],
)
def test_short_other_script_turns(gates, lang, text):
    drop = gates.check(lang, "turns[2]", text)
    assert drop is not None and drop.gate == "script" and drop.scores["field"] == "turns[2]", drop


# --- labels and boilerplate from data ---------------------------------------------------------------------
def test_leakage_data_covers_every_default_language():
    data = leakage_languages()
    missing = [
        c for c in DEFAULT_LANGUAGES if not (data.get(c, {}).get("labels") and data[c].get("boilerplate"))
    ]
    assert not missing


@pytest.mark.parametrize(
    "lang,text,kind",
    [
        ("fr", "Personne A : oui, j'adore le fromage.", "role_label"),
        ("it", "Interlocutore A: sì, mi piace molto.", "role_label"),
        ("fr", "Camille : salut, ça va ?", "role_label"),
        ("ja", "B：はい、そうです。", "role_label"),
        ("fr", "**B:** oui bien sûr", "role_label"),
        ("ko", "Sure! Here is the next line of the conversation: 네, 좋아요.", "assistant_boilerplate"),
        ("fr", "Voici la suite de la conversation : oui, bien sûr.", "assistant_boilerplate"),
        ("id", "Tentu saja! Ini jawaban B: ya, saya suka.", "assistant_boilerplate"),
    ],
)
def test_labels_and_boilerplate_are_leakage_not_language(gates, lang, text, kind):
    drop = gates.check(lang, "turns[1]", text)
    assert drop is not None and drop.gate == "leakage" and drop.scores["kind"] == kind, drop


@pytest.mark.parametrize(
    "lang,text",
    [
        ("fr", "Voici ma recette : des pâtes au beurre."),
        ("fr", "Ma réponse : non, jamais."),
        ("it", "giallissimo :) Sono una medaglia d'oro"),
        ("fr", "On se voit à 10:30 au marché ?"),
        ("fr", "Regarde http://example.org c'est drôle"),
        ("id", "Saya bekerja sebagai asisten dokter."),
    ],
)
def test_no_leakage_in_ordinary_turns(lang, text):
    """``moud filter``'s view of human turns (the settings without the stricter ``inline`` layer)."""
    row = with_turn(make_row(lang), 1, text)
    drop = FilterPipeline(CFG).check(row).drop
    assert drop is None or drop.gate != "leakage", drop


@pytest.mark.parametrize(
    "lang,text",
    [
        ("fr", "Ma réponse : non, jamais."),
        ("es", "Esta es mi respuesta: ¡Los perros son así!"),
        ("ar", "هذا ردّي: متى ستبدأ إجازتك السنوية؟"),
        ("tr", "Cevabım: evet, çok severim."),
        ("ar", "الشخص أ: نعم، الكشري هناك ممتاز والأسعار معقولة."),
        ("ru", "Собеседник Б: да, конечно."),
    ],
)
def test_preambles_and_labels_of_other_alphabets_are_rejected_while_generating(gates, lang, text):
    drop = gates.check(lang, "turns[1]", text)
    assert drop is not None and drop.gate == "leakage", drop


def test_a_short_answer_clause_is_human_for_moud_filter_but_regenerated_inline(gates):
    row = with_turn(make_row("fr"), 1, "Ma réponse : non, jamais.")
    assert FilterPipeline(CFG).check(row).kept
    assert gates.check("fr", "turns[1]", "Ma réponse : non, jamais.").gate == "leakage"


def test_a_language_added_by_a_user_gets_english_and_generic_labels():
    rules = language_leakage("xx")  # not in the data file
    assert rules.label("Speaker B: hello") and rules.label("Sprecher A: hallo") and rules.label("B: x")
    assert rules.label("Ana : merhaba")  # a capitalized name
    assert rules.label("nope, no label here: ok") is None


# --- repetition -------------------------------------------------------------------------------------------
def test_near_loop_names_both_turns():
    texts = list(TEXTS["fr"]) + [
        "Ah, " + TEXTS["fr"][2].lower(),
        "Oui, " + TEXTS["fr"][3].lower(),
        "Eh bien, " + TEXTS["fr"][2].lower(),
        "Ah, " + TEXTS["fr"][3].lower(),
    ]
    drop = RepetitionGate().check(make_row("fr", texts), ctx("fr", "repetition"))
    assert drop.scores["kind"] == "near_repeat" and drop.scores["field"] == "turns[7]"
    assert drop.scores["repeats"] == "turns[3]" and "turns[7] nearly repeats turns[3]" in drop.reason
    # one near-repeat is tolerated (max_repeated_turns 1), like one identical repeat
    assert RepetitionGate().check(make_row("fr", texts[:7]), ctx("fr", "repetition")) is None
    # without the near-repeat rules (a common run must cover more than the longer turn; no token may differ)
    # nothing fires
    off = ctx("fr", "repetition", near_min_share=1.01, near_max_changed_share=0)
    assert RepetitionGate().check(make_row("fr", texts), off) is None


def test_echo_reason_and_bound():
    prev = "je suis allé au marché samedi matin avec mon frère et ma soeur"
    row = make_row("fr", [TEXTS["fr"][0], prev, prev + " !", TEXTS["fr"][3]])
    drop = RepetitionGate().check(row, ctx("fr", "repetition"))
    assert drop.scores["kind"] == "echo" and "more than the 90% allowed" in drop.reason
    assert RepetitionGate().check(row, ctx("fr", "repetition", max_echo_containment=1.0)) is None


def test_user_language_without_leakage_data_runs(tmp_path):
    lang = Language("xx", "Xish", "Xish", "Latn", "xx", "words", "low")
    pipe = FilterPipeline(FilterConfig.load(None), registry={"xx": lang, "fr": get_language("fr")})
    row = make_row("fr")
    row["language"] = "xx"
    res = pipe.check(with_turn(row, 1, "Speaker 2: bonjour"))
    assert res.drop.gate == "leakage" and res.drop.scores["kind"] == "role_label"


def test_undetermined_with_the_fasttext_binding_too():
    model = LidModel(backend="fasttext")
    assert all(model.predict([t], 5)[0] == model.prior(5) for t in UNKNOWN)
    assert model.predict(["我有两只狗，它们很可爱。"], 5)[0] != model.prior(5)


def test_the_boilerplate_named_is_the_first_in_the_text_in_every_process():
    """Several phrases can match ("sure here is", "here is the next"): the reason names the one that starts
    first (then the longer), never whichever a set happened to yield (string hashes differ per process)."""
    import subprocess
    import sys

    from tests import ROOT

    code = (
        "from moud_gates.gates.labels import language_leakage\n"
        "from moud_core.text import tokenize\n"
        "t = tokenize('Sure! Here is the next message in the conversation: oui.')\n"
        "print(language_leakage('fr').boilerplate_phrase(t))\n"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={"PYTHONHASHSEED": str(seed), "PATH": ""},
            check=True,
        ).stdout.strip()
        for seed in range(6)
    }
    assert seen == {"sure here is"}
