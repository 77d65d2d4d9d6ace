"""The fast paths of the filter stack give exactly the reference results (tokens, script/letter counts,
n-grams, serialized drop records, cached LID predictions)."""

from __future__ import annotations

import json
import re

import pytest
import regex

from moud_core.charclass import letter_counts
from moud_core.languages import get_language
from moud_core.text import ngrams, reference_tokenize, tokenize
from moud_core.writing_systems import unicode_script_table
from moud_gates.gates.lid import LidModel
from moud_gates.gates.repetition import _ngrams
from moud_gates.gates.script import counts_key, presence_pattern, script_share, text_counts
from tests.gates.helpers import (
    COMMON_GROUND,
    EDGE_CASES,
    PERSONAS,
    TEXTS,
    make_row,
    random_texts,
)


def _texts() -> list[str]:
    real = [t for lang in TEXTS for t in TEXTS[lang] + PERSONAS[lang] + [COMMON_GROUND[lang]]]
    return real + EDGE_CASES + random_texts(1500)


@pytest.mark.parametrize("segmentation", ["words", "chars"])
def test_tokenize_matches_generation_text(segmentation):
    mismatches = [t for t in _texts() if tokenize(t, segmentation) != reference_tokenize(t, segmentation)]
    assert not mismatches, mismatches[:3]


@pytest.mark.parametrize("script", sorted(unicode_script_table()))
def test_text_counts_match_reference_regexes(script):
    names = unicode_script_table()[script]
    required, forbidden = names[:1], names[-1:]
    letter = regex.compile(r"\p{L}")
    texts = list(dict.fromkeys(_texts()))
    counts = text_counts(texts, script, required, forbidden)
    for text in texts:
        c = counts[text]
        share, tokens = script_share(text, script)
        assert (c.inside + c.outside, c.inside / tokens if tokens else 1.0) == (tokens, share), text
        assert bool(c.required) == bool(presence_pattern(tuple(required)).search(text)), text
        assert c.forbidden == len(presence_pattern(tuple(forbidden)).findall(text)), text
        assert c.letters == len(letter.findall(text)), text
    assert letter_counts(texts) == [len(letter.findall(t)) for t in texts]


def test_ngrams_match_generation_text():
    for n in range(5):
        for length in range(7):
            tokens = [str(i % 3) for i in range(length)]
            assert _ngrams(tokens, n) == ngrams(tokens, n)


def test_lid_cache_returns_the_uncached_prediction():
    model = LidModel(backend="fasttext")
    texts = [t for lang in TEXTS for t in TEXTS[lang]]
    first = [list(model.predict_one(t, 3)) for t in texts]
    assert model.predict(texts, 3) == first  # served from the cache
    model._cache.clear()
    assert model.predict(texts, 3) == first
    assert first[0][0][0] == "fr" and 0 < first[0][0][1] <= 1


def test_phrase_precheck_is_sound():
    """Every character that matches a phrase character case-insensitively, other than itself, is changed by
    normalize(), so a match in normalized text contains the phrase literally."""
    from moud_core.charclass import _all_codepoints
    from moud_core.text import normalize
    from moud_gates.gates.leakage_patterns import phrase_literals

    literals = phrase_literals()
    assert literals and "common ground" in literals
    every = _all_codepoints()
    for ch in sorted(set("".join(literals))):
        variants = set(regex.findall(regex.escape(ch), every, flags=regex.IGNORECASE)) - {ch}
        assert all(normalize(v) != v for v in variants), (ch, variants)


LEAKY = [  # stage directions and markdown: the regex patterns of data/leakage.yaml
    "*laughs* oui",
    "bien sûr (sourit) oui",
    "[pause] ok",
    "ok [sighs deeply] ok",
    "# Titre",
    "- point un",
    "• item",
    "1. **gras**",
    "du **gras** ici",
    "__souligné__",
    "```code```",
    "ligne\n  * puce",
]
# speaker labels and assistant boilerplate (labels.py), as (language, text)
LABELS = [
    ("fr", "A: bonjour"),
    ("fr", "  [Speaker 1] : salut"),
    ("ja", "話者A：こんにちは"),
    ("ko", "화자 1: 안녕"),
    ("fr", "Persona: je suis"),
    ("fr", "Ｓpeaker 1: x"),
    ("fr", "speaker\u00a01: x"),
    ("fr", "Personne A : oui"),
    ("it", "Interlocutore A: ciao"),
    ("fr", "**B:** oui"),
    ("zh", "B：好的"),
    ("fr", "Camille : salut"),
    ("ko", "민준: 안녕"),
    ("de", "Sprecher A: hallo"),
    ("sw", "Msemaji B: habari"),
    ("xx-new", "Speaker 2: hi"),
]
BOILERPLATE = [
    ("fr", "As an AI, I cannot"),
    ("fr", "AS A LANGUAGE MODEL"),
    ("fr", "I'm an AI"),
    ("fr", "Sure! Here is the dialogue"),
    ("fr", "En tant qu'IA"),
    ("fr", "voici le dialogue"),
    ("it", "Come un'IA non posso"),
    ("it", "ecco il dialogo"),
    ("id", "Sebagai AI, saya"),
    ("id", "Berikut adalah dialog"),
    ("ja", "AIとして"),
    ("ja", "言語モデルとして答えます"),
    ("ko", "AI로서 말하면"),
    ("ko", "언어 모델로서"),
    ("zh", "作为一个人工智能"),
    ("zh", "以下是对话"),
    ("ja", "ＡＩとして"),
    ("fr", "Bien sûr ! Voici la suite : oui"),
    ("id", "Tentu saja! Ini jawaban B: ya"),
    ("ko", "알겠습니다. B의 대답입니다: 네"),
]


def test_leakage_needs_are_sound():
    """Whenever the combined leakage pattern matches a turn, the turn contains one of the ``needs``: checked
    per pattern on leaky and random texts, and per character (re's case variants include regex's)."""
    from moud_core.charclass import _all_codepoints
    from moud_core.yamlio import load_yaml
    from moud_gates.gates.leakage_patterns import (
        LEAKAGE_PATH,
        fold,
        leakage_rules,
        needs_found,
        pattern_needs,
    )

    combined, _ = leakage_rules()
    needs = pattern_needs()
    assert combined is not None and needs is not None
    texts = (
        LEAKY
        + [t.upper() for t in LEAKY]
        + [t for _, t in LABELS + BOILERPLATE]
        + _texts()
        + [f"x {a}{b} y" for a in "*[(#-•_`:" for b in "ab "]
    )
    matched = 0
    for text in texts:
        m = combined.search(text)
        if m:
            matched += 1
            assert needs_found(text, needs), (text, m.lastgroup)
    assert matched >= len(LEAKY)
    assert not needs_found("Ciao, come va? Tutto bene.", (None, ("as a",)))
    every = _all_codepoints()
    chars = {ch for entry in load_yaml(LEAKAGE_PATH)["patterns"] for lit in entry["needs"] for ch in lit}
    for ch in sorted(chars):
        variants = set(regex.findall(regex.escape(ch), every, flags=regex.IGNORECASE))
        assert {fold(v) for v in variants} == {fold(ch)} and fold(ch) == ch.lower(), (ch, variants)
    # each pattern's own matches contain one of its own needs
    for entry in load_yaml(LEAKAGE_PATH)["patterns"]:
        pat = regex.compile(entry["pattern"], regex.IGNORECASE | regex.MULTILINE)
        own = re.compile("|".join(re.escape(x) for x in entry["needs"]), re.IGNORECASE)
        for text in texts:
            m = pat.search(text)
            if m:
                assert own.search(m.group(0)), (entry["name"], text)


def test_prefill_gives_the_same_decisions_as_row_by_row():
    from moud_gates.pipeline import FilterPipeline

    pipe = FilterPipeline.from_config(None)
    rows = []
    for lang in TEXTS:
        extra = [t for _, t in LABELS[:4] + BOILERPLATE[-3:]] + [
            "oui (I see what you mean, that is great) - yes"
        ]
        for i, text in enumerate(
            LEAKY[:8] + extra + EDGE_CASES[:12] + ["Hello there, how are you doing today my friend?"]
        ):
            row = make_row(lang, index=i)
            row["turns"][i % len(row["turns"])]["text"] = text or "x"
            rows.append(row)
    batched = [
        pipe.check_stateless(json.loads(json.dumps(r)), m)
        for r, m in zip(rows, pipe.prefill(rows), strict=True)
    ]
    single = [pipe.check_stateless(json.loads(json.dumps(r))) for r in rows]
    assert len({d.gate for d, _, _ in single if d}) >= 3
    for (d1, s1, c1), (d2, s2, c2) in zip(batched, single, strict=True):
        assert d1 == d2 and c1 == c2
        assert (s1 is None) == (s2 is None) and (s1 is None or ((s1[0] == s2[0]).all() and s1[1] == s2[1]))


def test_prefill_memo_is_what_the_script_gate_reads():
    from moud_gates.base import row_texts
    from moud_gates.pipeline import FilterPipeline

    pipe = FilterPipeline.from_config(None)
    rows = [make_row(lang) for lang in ("fr", "ja", "zh")]
    for row, memo in zip(rows, pipe.prefill(rows), strict=True):
        lang = get_language(row["language"])
        p = pipe.config.for_language(lang)["script"]
        key = counts_key(lang, p)
        texts = [t for _, t in row_texts(row)]
        expected = text_counts(texts, lang.script, p["require_any"], p["forbid_any"])
        assert {t: memo[key][t] for t in texts} == expected
        assert {t: memo["letters"][t] for t in texts} == {t: c.letters for t, c in expected.items()}


def test_class_tables_cached_on_disk_are_the_built_ones(tmp_path, monkeypatch):
    from moud_core import charclass

    monkeypatch.setenv("MOUD_CACHE_DIR", str(tmp_path))
    char_class = r"[\p{Script=Hangul}\p{N}]"
    built = charclass.class_mask.__wrapped__(char_class)  # builds and stores
    stored = list(tmp_path.rglob("*.npy"))
    assert len(stored) == 1
    assert (charclass.class_mask.__wrapped__(char_class) == built).all()  # loaded from disk
    stored[0].write_bytes(b"not a numpy file")  # a damaged cache is rebuilt, not trusted
    assert (charclass.class_mask.__wrapped__(char_class) == built).all()
    assert built[ord("한")] and built[ord("7")] and not built[ord("a")]


@pytest.mark.parametrize("code,text", LABELS + BOILERPLATE)
def test_labels_and_boilerplate_and_their_prechecks(code, text):
    """Each label/boilerplate text is found, and the pre-checks that let a dialogue skip the search (a colon
    for labels, a boilerplate phrase or meta word in the joined turns) hit whenever the search would."""
    from moud_gates.gates.labels import COLONS, language_leakage

    rules = language_leakage(code)
    label = rules.label(text)
    phrase = rules.boilerplate_phrase(tokenize(text)) or rules.preamble_clause(text)
    assert (label, phrase) != (None, None)
    turns = [TEXTS["fr"][0], text, TEXTS["fr"][1]]
    if label is not None:
        assert any(c in "\n".join(turns) for c in COLONS)
    if phrase is not None:
        assert rules.any_phrase({t for turn in turns for t in tokenize(turn, "chars")})
