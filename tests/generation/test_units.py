"""Unit tests: registry, taxonomies, prompts, parsing, config, seeds."""

from __future__ import annotations

import random

import pytest

from generation.config import load_run_config
from generation.dialogue_plan import plan_dialogue
from generation.parsing import ParseFailure, clean_common_ground, clean_utterance, parse_persona
from generation.prompts import PromptSet, load_demonstrations
from moud_core.backends.base import SamplingParams, fold_system_messages
from moud_core.errors import ConfigError
from moud_core.languages import DEFAULT_LANGUAGES, get_language, load_registry, select_languages
from moud_core.schema import example_row, validate_row
from moud_core.seeds import derive_seed
from moud_core.taxonomy import load_persona_taxonomy, load_speech_events, sample_persona_categories

EXPECTED = "ar bn de el es fa fi fr he hi hu id it ja ko nl pl pt ro ru sv sw ta th tr uk vi yo zh".split()


def test_registry_has_the_29_default_languages():
    assert sorted(DEFAULT_LANGUAGES) == EXPECTED
    reg = load_registry()
    assert reg["ja"].xpersona == "Jp" and reg["ja"].segmentation == "chars"
    assert reg["hi"].script == "Deva" and reg["ko"].script == "Kore"
    assert all(reg[c].native_name and reg[c].resource in ("high", "medium", "low") for c in EXPECTED)


def test_unknown_language_lists_valid_codes():
    with pytest.raises(ConfigError) as err:
        select_languages("fr,xx", all_means="registered")
    assert "'xx'" in str(err.value) and "fr" in str(err.value) and "zh" in str(err.value)
    assert select_languages("all", all_means="registered") == list(DEFAULT_LANGUAGES)


def test_user_languages_file_adds_a_language(tmp_path):
    f = tmp_path / "langs.yaml"
    f.write_text(
        "languages:\n  - {code: ca, name: Catalan, native_name: Català, script: Latn, lid_label: ca,"
        " segmentation: words, resource: medium}\n",
        encoding="utf-8",
    )
    reg = load_registry([str(f)])
    assert get_language("ca", reg).native_name == "Català"
    bad = tmp_path / "bad.yaml"
    bad.write_text("languages:\n  - {code: ca, name: Catalan}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml: languages\[0\]: missing field"):
        load_registry([str(bad)])


def test_taxonomies():
    events = load_speech_events()
    assert len(events) == 29 and len({e.id for e in events}) == 29
    assert {"small_talk", "gossip", "making_plans", "catching_up"} <= {e.id for e in events}
    tax = load_persona_taxonomy()
    assert {"occupation", "family", "hobbies", "food", "places_lived", "pets", "beliefs", "health"} <= set(
        tax
    )
    cats = sample_persona_categories(random.Random(1), tax, 5)
    assert len(cats) == 5 and len({c.split("/")[0] for c in cats}) == 5


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "1. Je m'appelle Léa.\n2. J'habite à Nantes.\n3) J'adore les crêpes.\n"
            "- Je suis infirmière.\n• J'ai un chien.",
            [
                "Je m'appelle Léa.",
                "J'habite à Nantes.",
                "J'adore les crêpes.",
                "Je suis infirmière.",
                "J'ai un chien.",
            ],
        ),
        (
            '```json\n["我叫李明。", "我住在成都。", "我喜欢火锅。", "我是老师。", "我有一只猫。"]\n```',
            ["我叫李明。", "我住在成都。", "我喜欢火锅。", "我是老师。", "我有一只猫。"],
        ),
        (
            "我叫李明。我住在成都。我喜欢火锅。我是老师。我有一只猫。",
            ["我叫李明。", "我住在成都。", "我喜欢火锅。", "我是老师。", "我有一只猫。"],
        ),
        (
            '{"persona": ["أنا أحمد.", "أعيش في القاهرة.", "أحب الكشري.", "أشجع الأهلي."]}',
            ["أنا أحمد.", "أعيش في القاهرة.", "أحب الكشري.", "أشجع الأهلي."],
        ),
        (
            "Persona:\n1. मैं दिल्ली में रहता हूँ।\n2. मुझे क्रिकेट पसंद है।\n3. मैं शिक्षक हूँ।\n4. मेरी एक बहन है।",
            ["मैं दिल्ली में रहता हूँ।", "मुझे क्रिकेट पसंद है।", "मैं शिक्षक हूँ।", "मेरी एक बहन है।"],
        ),
    ],
)
def test_parse_persona_formats(text, expected):
    assert parse_persona(text, 5, 4) == expected


def test_parse_persona_failures_have_reasons():
    with pytest.raises(ParseFailure) as err:
        parse_persona("Sure! Here is a persona.", 5, 4)
    assert err.value.reason == "too_few_sentences"
    with pytest.raises(ParseFailure) as err:
        parse_persona("   ", 5)
    assert err.value.reason == "empty_output"


def test_clean_utterance_and_common_ground():
    assert clean_utterance("Léa: « Salut, ça va ? »") == "Salut, ça va ?"
    assert clean_utterance("Salut !\nB: Oui et toi ?") == "Salut !"
    assert clean_utterance("李明：你好！") == "你好！"
    assert clean_utterance("Bon : je pense que oui") == "Bon : je pense que oui"
    assert clean_common_ground("Common ground: Léa et Marc se connaissent depuis le lycée.").startswith("Léa")
    with pytest.raises(ParseFailure):
        clean_common_ground("Ok.")


def test_prompts_are_decomposed_and_demos_are_english():
    ps = PromptSet.load()
    fr = get_language("fr")
    msgs = ps.persona_messages(fr, ["food/favourite dish"], 5, [["I am a nurse.", "I surf."]])
    user = msgs[1]["content"]
    assert "French (Français)" in user and "food: favourite dish" in user and "I am a nurse." in user
    assert "translationese" in user  # target-language constraints present
    dlg = ps.dialogue_messages(
        fr, ["Je suis Léa."], "CG", load_speech_events()[0], [(False, "Salut"), (True, "Coucou")]
    )
    assert [m["role"] for m in dlg] == ["system", "user", "assistant"]
    opening = ps.dialogue_messages(fr, ["Je suis Léa."], "CG", load_speech_events()[0], [])
    assert [m["role"] for m in opening] == ["system", "user"]
    folded = fold_system_messages(dlg)
    assert (
        folded[0]["role"] == "user"
        and "Je suis Léa." in folded[0]["content"]
        and "Salut" in folded[0]["content"]
    )


def test_dialogue_prompts_are_made_from_their_own_persona_common_ground_and_event_every_time():
    """The per-speaker head is memoized: a turn's prompt must still be exactly the one made from scratch."""
    events = load_speech_events()
    memo, fresh = PromptSet.load(), PromptSet.load
    cases = [
        (get_language(code), persona, cg, event, history)
        for code in ("fr", "ja")
        for persona in (["Je suis Léa."], ["Je suis Tom.", "J'aime le thé."])
        for cg in ("CG one", "CG two")
        for event in events[:2]
        for history in ([], [(False, "Salut")], [(True, "Coucou"), (False, "Salut")])
    ]
    for _ in range(2):  # the second round is answered from the memo
        for case in cases:
            assert memo.dialogue_messages(*case) == fresh().dialogue_messages(*case)
    lang, persona, _, event, history = cases[0]
    systems = {memo.dialogue_messages(lang, persona, cg, event, history)[0]["content"] for cg in "ab"}
    assert len(systems) == 2


def test_unknown_prompt_version():
    with pytest.raises(ConfigError, match="shipped versions: moud-prompts-v1"):
        PromptSet.load("moud-prompts-v99")


def test_demonstrations_from_xpersona_english(xpersona_dir):
    demos = load_demonstrations(str(xpersona_dir / "En_persona_valid.json"))
    assert len(demos) > 100 and all(isinstance(s, str) for s in demos[0])


def test_demonstrations_bad_file(tmp_path):
    bad = tmp_path / "d.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"d.json:1: invalid JSON"):
        load_demonstrations(str(bad))


def test_config_errors_name_file_and_line(tmp_path):
    f = tmp_path / "run.yaml"
    f.write_text("languages: [fr]\nseed: 1\n  bad: : indent\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"run.yaml:\d+:\d+: invalid YAML"):
        load_run_config(str(f))
    f.write_text("languages: [fr]\ndialouges_per_language: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown field 'dialouges_per_language'"):
        load_run_config(str(f))
    f.write_text("dialogue: {min_turns: 10, max_turns: 4}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="dialogue.max_turns"):
        load_run_config(str(f))
    f.write_text("dialogue: {sampling: {temperature: hot}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="dialogue.sampling"):
        load_run_config(str(f))


def test_fingerprint_ignores_scale_but_not_content():
    a = load_run_config(None, {"dialogues_per_language": 5, "languages": ["fr"]})
    b = load_run_config(None, {"dialogues_per_language": 50, "languages": ["fr", "zh"], "concurrency": 3})
    c = load_run_config(None, {"dialogue": {"sampling": {"temperature": 0.5}}})
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert SamplingParams.from_dict({"temperature": 0.5, "max_tokens": 9}).max_tokens == 9


def test_plans_are_deterministic_and_vary():
    cfg = load_run_config(None, {"seed": 7})
    tax, events, demos = load_persona_taxonomy(), load_speech_events(), load_demonstrations()
    p1 = plan_dialogue(cfg, "fr", 3, tax, events, demos)
    p2 = plan_dialogue(cfg, "fr", 3, tax, events, demos)
    assert p1 == p2
    plans = [plan_dialogue(cfg, "fr", i, tax, events, demos) for i in range(40)]
    assert len({p.speech_event.id for p in plans}) > 10
    assert {p.first_speaker for p in plans} == {"A", "B"}
    assert all(12 <= p.num_turns <= 16 for p in plans)
    assert derive_seed(1, "a") == derive_seed(1, "a") != derive_seed(2, "a")


def test_example_row_is_valid_and_validation_names_fields():
    assert validate_row(example_row()) == []
    row = example_row()
    row["turns"][0]["speaker"] = "C"
    del row["metadata"]["seed"]
    errors = validate_row(row)
    assert "turns[0].speaker: expected 'A' or 'B', got 'C'" in errors and "metadata.seed: missing" in errors
