"""Unit tests for every gate on multilingual strings, including the drop reasons."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from benchmarks.corruptions import romanize_hangul
from moud_core.errors import ConfigError
from moud_core.languages import get_language
from moud_gates.base import GATES, GateContext
from moud_gates.config import FilterConfig
from moud_gates.gates.dedup import DedupGate
from moud_gates.gates.leakage import LeakageGate
from moud_gates.gates.length import LengthGate
from moud_gates.gates.lid import LidGate, LidModel, english_share
from moud_gates.gates.repetition import RepetitionGate
from moud_gates.gates.script import ScriptGate, script_share
from moud_gates.pipeline import FilterPipeline
from tests.gates.helpers import TEXTS, make_row, with_turn

CFG = FilterConfig.load(None)
LANGS = ["fr", "ja", "ko", "zh", "ru"]


def ctx(lang: str, gate: str, **over) -> GateContext:
    params = dict(CFG.for_language(get_language(lang))[gate], **over)
    return GateContext(get_language(lang), params, Counter())


@pytest.fixture(scope="module")
def lid_gate():
    return LidGate(LidModel())


@pytest.mark.parametrize("lang", LANGS)
def test_clean_rows_pass_every_gate(lang, lid_gate):
    row = make_row(lang)
    for gate in (LengthGate(), ScriptGate(), lid_gate, RepetitionGate(), LeakageGate(), DedupGate()):
        assert gate.check(row, ctx(lang, gate.name)) is None, gate.name


def test_lid_drops_english_and_other_language_turns_with_reason(lid_gate):
    drop = lid_gate.check(
        with_turn(make_row("fr"), 2, "I really love hiking in the mountains with my dog."), ctx("fr", "lid")
    )
    assert drop.gate == "lid" and drop.reason.startswith("turns[2]: fr not in top-3")
    assert drop.scores["top"][0][0] == "en" and drop.scores["target_prob"] < 0.1
    drop = lid_gate.check(
        with_turn(make_row("fr"), 1, "Mi piace molto andare al mare con i miei amici d'estate."),
        ctx("fr", "lid"),
    )
    assert drop.scores["top"][0][0] == "it"
    # Chinese inside a Japanese dialogue: same (Han) script, only LID can tell
    drop = lid_gate.check(
        with_turn(make_row("ja"), 3, "我通常和我的狗一起去公园散步，然后回家做饭。"), ctx("ja", "lid")
    )
    assert drop is not None and drop.scores["field"] == "turns[3]"


@pytest.mark.parametrize("lang", ["id", "it"])
def test_clean_indonesian_and_italian_rows_pass_lid(lang, lid_gate):
    assert lid_gate.check(make_row(lang), ctx(lang, "lid")) is None


@pytest.mark.parametrize(
    "lang, text",
    [
        # XPersona English turns that lid.176.ftz also gives some Italian/Indonesian probability
        ("it", "oh nice ! i cannot play anymore due to having asthma though ."),
        ("it", "we live in the age of idiocracy !"),
        ("id", "hi ! i'm good . i love a good pepperoni pizza ."),
        ("id", "cool . too bad i dislike tacos , i will never taste yours ."),
    ],
)
def test_lid_english_turn_rule(lid_gate, lang, text):
    drop = lid_gate.check(with_turn(make_row(lang), 2, text), ctx(lang, "lid"))
    assert drop is not None and drop.gate == "lid" and drop.scores["kind"] == "english_turn", drop
    assert "English turn" in drop.reason and drop.scores["english_share"] >= 0.25
    assert drop.scores["top"][0][0] == "en"
    # the rule is data: with share thresholds above 1 the same row passes (or fails for another reason)
    off = lid_gate.check(
        with_turn(make_row(lang), 2, text),
        ctx(lang, "lid", english_min_share=1.01, english_confident_share=1.01, english_words_share=1.01),
    )
    assert off is None or off.scores["kind"] != "english_turn"


def test_english_words_exclude_target_language_words():
    assert english_share(["a", "i", "in", "so", "me"], "it") == 0.0
    assert english_share(["a", "i", "in", "so", "me"], "ru") == 1.0
    assert english_share(["the", "gatto"], "it") == 0.5 and english_share([], "it") == 0.0


def test_lid_foreign_top1_rule_and_target_words(lid_gate):
    # Indonesian in an Italian dialogue: id 0.77 on top, it 0.02 passes it's lenient top-5 / 0.01
    text = "Saya ingin sekali bekerja di restoran!"
    drop = lid_gate.check(with_turn(make_row("it"), 1, text), ctx("it", "lid"))
    assert drop.scores["kind"] == "foreign_top1" and drop.scores["top"][0][0] == "id", drop
    assert lid_gate.check(with_turn(make_row("it"), 1, text), ctx("it", "lid", foreign_min_prob=1.01)) is None
    # Chinese in an Indonesian dialogue: ms (accepted for id) 0.02 used to keep it above min_prob; a Latin
    # label is not plausible for Han text, so the Chinese verdict stands
    text = "哇我从来没有听说过允许鹦鹉的体育馆，一定很不错！"
    drop = lid_gate.check(with_turn(make_row("id"), 1, text), ctx("id", "lid"))
    assert drop.scores["kind"] == "not_target" and drop.scores["top"] == [["zh", 0.9328], ["ja", 0.0088]], (
        drop
    )
    # real Indonesian that lid.176 calls Italian (it 0.87) is kept thanks to common Indonesian words (and to
    # its words all being Indonesian ones, more than Italian ones: the lexical rescue)
    real = "hai teman, apa kabar?"
    assert lid_gate.check(with_turn(make_row("id"), 0, real), ctx("id", "lid")) is None
    no_words = ctx("id", "lid", target_min_share=1.01)
    assert lid_gate.check(with_turn(make_row("id"), 0, real), no_words) is None
    drop = lid_gate.check(
        with_turn(make_row("id"), 0, real), ctx("id", "lid", target_min_share=1.01, lexical_min_words=99)
    )
    assert drop.scores["kind"] == "not_target" and drop.scores["top"][0][0] == "it"


def test_lid_records_scores_and_counts_short_texts(lid_gate):
    row = with_turn(make_row("fr"), 0, "ok")
    c = ctx("fr", "lid")
    assert lid_gate.check(row, c) is None
    scores = row["metadata"]["lid_scores"]
    assert len(scores) == len(row["turns"]) and min(scores[1:]) > 0.5
    assert c.counters["skipped_short"] >= 1


def test_lid_persona_and_common_ground_are_checked(lid_gate):
    row = make_row("fr")
    row["persona_b"] = ["I am a software engineer living in Seattle with two cats."]
    assert lid_gate.check(row, ctx("fr", "lid")).scores["field"] == "persona_b[0]"
    row = make_row("fr")
    row["common_ground"] = "Two neighbours meet at the farmers market on a sunny Saturday morning."
    assert lid_gate.check(row, ctx("fr", "lid")).scores["field"] == "common_ground"
    assert lid_gate.check(row, ctx("fr", "lid", check_common_ground=False)) is None


def test_lid_dialogue_rule_tolerates_configured_failures(lid_gate):
    row = with_turn(make_row("fr"), 2, "I really love hiking in the mountains with my dog.")
    assert lid_gate.check(row, ctx("fr", "lid", max_failed=1)) is None


def test_missing_lid_model_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="lid.176.nope: file not found"):
        LidModel(tmp_path / "lid.176.nope")


def test_glotlid_label_mapping():
    model = LidModel.__new__(LidModel)
    model._rename = {"__label__fra_Latn": "fr"}
    assert model.label_of("__label__fra_Latn") == "fr"
    assert model.label_of("__label__xyz_Latn") == "xyz_Latn"


@pytest.mark.parametrize(
    "lang,text,expect",
    [
        ("ja", "watashi wa inu wo nihiki katte imasu.", "no letter in Jpan"),
        ("ko", romanize_hangul("저는 보통 강아지랑 공원에서 산책해요."), "no letter in Kore"),
        ("zh", "wo you liang zhi gou, tamen hen ke'ai.", "no letter in Hans"),
        ("ru", "Privet! Chto ty obychno delaesh po vykhodnym?", "no letter in Cyrl"),
        ("fr", "Привет! Что ты обычно делаешь по выходным?", "no letter in Latn"),
        ("fr", "Oui, j'adore ça, c'est vraiment super ! Мне тоже нравится.", "of letter tokens in Latn"),
        ("ja", "我通常和我的狗一起去公园散步然后回家", "no Hiragana/Katakana letters"),
        ("zh", "東京大学の図書館で勉強中。", "Hiragana/Katakana letters (not used in zh)"),
        ("ko", "私は猫派ですが、柴犬はかわいいと思います。", "no letter in Kore"),
        (
            "ko",
            "저도 정말 그렇게 생각해요, 오늘 날씨가 너무 좋아서 산책하고 싶어요. 我也是。",
            "sentence '我也是。'",
        ),
    ],
)
def test_script_gate_catches_wrong_script(lang, text, expect):
    drop = ScriptGate().check(with_turn(make_row(lang), 1, text), ctx(lang, "script"))
    assert drop is not None and drop.gate == "script" and expect in drop.reason, drop and drop.reason


def test_script_share_counts_latin_words_once_in_cjk():
    share, tokens = script_share("我有一只叫biggie smalls的猫。", "Hans")
    assert tokens == 9 and share == pytest.approx(7 / 9)
    assert script_share("snapchatとは何ですか？", "Jpan")[0] > 0.8


@pytest.mark.parametrize("lang", ["fr", "ja"])
def test_length_gate(lang):
    gate = LengthGate()
    row = make_row(lang)
    row["turns"] = row["turns"][:2]
    assert "2 turns, expected 4..40" in gate.check(row, ctx(lang, "length")).reason
    drop = gate.check(with_turn(make_row(lang), 3, TEXTS[lang][0] * 40), ctx(lang, "length"))
    assert drop.scores["field"] == "turns[3]" and "expected at most" in drop.reason
    assert "at least 1" in gate.check(with_turn(make_row(lang), 0, "  "), ctx(lang, "length")).reason


def test_length_bounds_are_per_script():
    fr, ja = CFG.for_language(get_language("fr")), CFG.for_language(get_language("ja"))
    assert ja["length"]["max_chars"] < fr["length"]["max_chars"]


@pytest.mark.parametrize("lang", ["fr", "ja", "zh"])
def test_repetition_repeated_turns(lang):
    texts = TEXTS[lang][:4] + [TEXTS[lang][0], TEXTS[lang][1]]
    drop = RepetitionGate().check(make_row(lang, texts), ctx(lang, "repetition"))
    assert drop.scores["kind"] == "repeated_turn" and "turns[5] repeats turns[1]" in drop.reason


@pytest.mark.parametrize(
    "lang,loop", [("fr", "je suis content " * 8), ("zh", "我很高兴你来了" * 6), ("ko", "정말 좋아요 " * 8)]
)
def test_repetition_ngram_loops(lang, loop):
    drop = RepetitionGate().check(with_turn(make_row(lang), 2, loop), ctx(lang, "repetition"))
    assert drop.scores["kind"] == "ngram_loop" and "are repeats" in drop.reason


@pytest.mark.parametrize("lang", ["fr", "ja"])
def test_repetition_echo(lang):
    row = make_row(lang)
    row = with_turn(row, 4, row["turns"][3]["text"] + ("!" if lang == "fr" else "ね"))
    drop = RepetitionGate().check(row, ctx(lang, "repetition"))
    assert drop.scores["kind"] == "echo" and "echoes turns[3]" in drop.reason


@pytest.mark.parametrize(
    "lang,text,kind",
    [
        ("fr", "A: Salut, ça va ?", "role_label"),
        ("fr", "Speaker 1: Bonjour à toi.", "role_label"),
        ("fr", "Persona: je suis boulanger.", "role_label"),
        ("ja", "話者A：こんにちは。", "role_label"),
        ("fr", "(smiles) Oui, bien sûr.", "stage_direction"),
        ("ko", "*laughs* 정말 재미있네요.", "stage_direction"),
        ("fr", "As an AI, I cannot have a favourite cheese.", "assistant_boilerplate"),
        ("fr", "Sure! Here is the dialogue you asked for.", "assistant_boilerplate"),
        ("fr", "En tant qu'IA, je n'ai pas de préférences.", "assistant_boilerplate"),
        ("zh", "作为一个人工智能，我没有宠物。", "assistant_boilerplate"),
        ("ja", "AIとして、私は犬を飼っていません。", "assistant_boilerplate"),
        ("fr", "## Dialogue", "markdown"),
        ("fr", "- premier point de la liste", "markdown"),
        ("fr", "J'aime **beaucoup** le fromage.", "markdown"),
        ("fr", "Je reste in character, comme demandé dans le common ground.", "prompt_phrase"),
    ],
)
def test_leakage_patterns(lang, text, kind):
    drop = LeakageGate().check(with_turn(make_row(lang), 1, text), ctx(lang, "leakage"))
    assert drop is not None and drop.scores["kind"] == kind, drop and drop.reason


def test_leakage_persona_copy_and_innocent_text():
    row = make_row("fr")
    row["persona_a"] = ["Je travaille comme boulanger dans une petite boutique du vieux Lyon."]
    drop = LeakageGate().check(
        with_turn(row, 2, "Eh bien, je travaille comme boulanger dans une petite boutique du vieux Lyon !"),
        ctx("fr", "leakage"),
    )
    assert drop.scores["kind"] == "persona_copy" and "copied verbatim" in drop.reason
    ok = with_turn(make_row("fr"), 1, "Il m'a dit : « viens demain » (enfin, je crois).")
    assert LeakageGate().check(ok, ctx("fr", "leakage")) is None


def test_dedup_exact_and_near_duplicates_keep_first():
    gate = DedupGate()
    first = make_row("fr", index=1)
    assert gate.check(first, ctx("fr", "dedup")) is None
    exact = make_row("fr", index=2)
    assert gate.check(exact, ctx("fr", "dedup")).scores == {
        "duplicate_of": "fr-0000001",
        "jaccard": 1.0,
        "kind": "exact",
    }
    texts = list(TEXTS["fr"])
    texts[5] = texts[5].replace("quelle heure", "quelle heure exactement")
    near = gate.check(make_row("fr", texts, index=3), ctx("fr", "dedup"))
    assert near.scores["kind"] == "near" and near.scores["duplicate_of"] == "fr-0000001"
    assert "near duplicate of fr-0000001" in near.reason
    other = make_row(
        "fr",
        TEXTS["fr"][::-1][:2]
        + ["Totalement différent : on parle de cinéma coréen et de films d'animation japonais ce soir."] * 1
        + [
            "Tu as vu le dernier film de Bong Joon-ho au cinéma ?",
            "Pas encore, il est bien ?",
            "Oui, génial, surtout la fin.",
        ],
        index=4,
    )
    assert gate.check(other, ctx("fr", "dedup")) is None
    # languages are deduplicated separately
    assert gate.check(make_row("ja", index=1), ctx("ja", "dedup")) is None


def test_pipeline_check_and_stats():
    pipe = FilterPipeline.from_config(None)
    res = pipe.check(make_row("fr"))
    assert res.kept and res.drop is None and res.row["metadata"]["lid_scores"]
    res = pipe.check(with_turn(make_row("fr", index=5), 0, "As an AI, I cannot do that, but here you go."))
    assert not res.kept and res.drop.gate in {"lid", "leakage"}
    stats = pipe.stats_dict()["languages"]["fr"]
    assert stats["input"] == 2 and stats["kept"] == 1 and sum(stats["dropped"].values()) == 1


def test_config_overrides_and_errors(tmp_path):
    user = tmp_path / "f.yaml"
    user.write_text("defaults:\n  lid: {top_k: 4}\nlanguages:\n  fr:\n    length: {min_turns: 2}\n")
    cfg = FilterConfig.load(user)
    assert cfg.for_language(get_language("de"))["lid"]["top_k"] == 4
    assert cfg.for_language(get_language("fr"))["length"]["min_turns"] == 2
    assert cfg.for_language(get_language("fr"))["lid"]["top_k"] == 3  # packaged per-language override wins
    user.write_text("defaults:\n  lid: {topk: 4}\n")
    with pytest.raises(ConfigError, match=r"defaults: unknown field 'lid.topk'"):
        FilterConfig.load(user)
    user.write_text("languages:\n  fr:\n    script: {min_share: high}\n")
    with pytest.raises(
        ConfigError, match=r"languages.fr: field 'script.min_share': expected a number, got 'high'"
    ):
        FilterConfig.load(user)
    user.write_text("gates: [lid, spelling]\n")
    with pytest.raises(
        ConfigError,
        match=r"f.yaml: field 'gates': expected a list of names from "
        + re.escape(", ".join(sorted(GATES)))  # every registered gate, named
        + r", got \['lid', 'spelling'\]$",
    ):
        FilterConfig.load(user)


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "defaults:\n  dedup: {num_perm: 100}\n",
            "f.yaml: defaults: field 'dedup.num_perm': expected a multiple of bands (16), got 100",
        ),
        (
            "languages:\n  ja:\n    script: {require_any: [Hiragan]}\n",
            "f.yaml: languages.ja: field 'script.require_any': expected Unicode script names "
            "(Hiragana, Hangul...); unknown: Hiragan, got ['Hiragan']",
        ),
        (
            "scripts:\n  Latn:\n    lid: {min_prob: 2}\n",
            "f.yaml: scripts.Latn: field 'lid.min_prob': expected a number between 0 and 1, got 2",
        ),
        (
            "inline:\n  length: {max_turns: 2}\n",
            "f.yaml: inline: field 'length.max_turns': expected an integer >= min_turns, got 2",
        ),
        (
            "lid_backend: gpu\n",
            "f.yaml: field 'lid_backend': expected one of auto, numpy, fasttext, got 'gpu'",
        ),
        ("lid_model: 5\n", "f.yaml: field 'lid_model': expected a string or null, got 5"),
    ],
)
def test_each_gate_checks_its_params_when_the_file_loads(tmp_path, text, message):
    user = tmp_path / "f.yaml"
    user.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        FilterConfig.load(user)
    assert str(err.value) == f"{tmp_path}/{message}"


def test_typed_params_per_language():
    params = CFG.params(get_language("ja"))
    assert params["script"].require_any == ("Hiragana", "Katakana") and params["dedup"].shingle_n == 5
    assert CFG.params(get_language("fr"), inline=True)["repetition"].max_repeated_turns == 0
