"""The scripted crowdworker's content: personas that rarely share a sentence, common grounds made from both
personas and the speech event's family, dialogues that open, answer from the speaker's persona and close only
at the end; deterministic for a request and its seed."""

from __future__ import annotations

import copy
import re

import pytest

from generation.config import DEFAULTS
from generation.dialogue_plan import plan_dialogue
from generation.parsing import parse_persona
from generation.prompts import PromptSet, load_demonstrations
from generation.testing.crowd_bank import load_bank
from generation.testing.crowd_compose import CLOSE_FROM
from generation.testing.crowdworker import BANK, LANGUAGES, ScriptedCrowdworker
from moud_core.languages import get_language
from moud_core.seeds import derive_seed
from moud_core.taxonomy import load_persona_taxonomy, load_speech_events

PROMPTS, WORKER = PromptSet.load(), ScriptedCrowdworker()
CFG = {**copy.deepcopy(DEFAULTS), "seed": 0}


def _mark(template: str) -> str:
    """The longest run of a template's own text (what any sentence made from it contains)."""
    return max(re.split(r"\{[^}]*\}", template), key=len).strip()


def _ask(messages: list[dict], seed: int) -> str:
    return WORKER({"model": "m", "messages": messages, "seed": seed})


def _dialogue(lang: str, index: int, num_turns: int | None = None) -> dict:
    """One dialogue as ``moud generate`` asks for it (first attempts only, no gates)."""
    plan = plan_dialogue(
        CFG, lang, index, load_persona_taxonomy(), load_speech_events(), load_demonstrations()
    )
    language, personas = get_language(lang), {}
    for who, cats, demos in (("A", plan.categories_a, plan.demos_a), ("B", plan.categories_b, plan.demos_b)):
        messages = PROMPTS.persona_messages(language, cats, 5, demos)
        text = _ask(messages, derive_seed(plan.dialogue_seed, f"persona_{who}", 0))
        personas[who] = parse_persona(text, 5, 4)
    messages = PROMPTS.common_ground_messages(language, personas["A"], personas["B"], plan.speech_event)
    ground = _ask(messages, derive_seed(plan.dialogue_seed, "common_ground", 0)).strip()
    history: list[tuple[str, str]] = []
    for t in range(num_turns or plan.num_turns):
        speaker = plan.first_speaker if t % 2 == 0 else "AB".replace(plan.first_speaker, "")
        view = [(s == speaker, x) for s, x in history]
        messages = PROMPTS.dialogue_messages(language, personas[speaker], ground, plan.speech_event, view)
        history.append((speaker, _ask(messages, derive_seed(plan.dialogue_seed, f"turn_{t}", 0))))
    return {"personas": personas, "ground": ground, "turns": history, "event": plan.speech_event}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_two_personas_rarely_share_a_sentence_or_a_name(lang):
    bank, shared, same_name, n = load_bank(lang), 0, 0, 150
    for i in range(n):
        d = _dialogue(lang, i, num_turns=0)
        a, b = d["personas"]["A"], d["personas"]["B"]
        shared += bool(set(a) & set(b))
        same_name += bank.person(a[0]).name == bank.person(b[0]).name
        assert bank.person(a[0]).name and bank.person(b[0]).name  # each introduces itself by name
    assert shared / n < 0.02 and same_name / n < 0.08


@pytest.mark.parametrize("lang", LANGUAGES)
def test_dialogues_open_answer_from_the_persona_and_close_only_at_the_end(lang):
    bank = load_bank(lang)
    turns_kind = bank.data["turns"]
    closes = [_mark(t) for t in turns_kind["close"] + turns_kind["close_back"]]
    grounds, answered = set(), 0
    for i in range(12):
        d = _dialogue(lang, i, num_turns=CLOSE_FROM + 2)
        a, b = (bank.person(" ".join(d["personas"][w])) for w in "AB")
        assert a.name in d["ground"] and b.name in d["ground"]
        grounds.add(d["ground"])
        texts = [x for _, x in d["turns"]]
        assert len(set(texts)) == len(texts)  # no turn said twice
        first = texts[0]
        assert not any(c in first for c in closes)
        assert any(first.startswith(g.split("{")[0]) for g in turns_kind["greeting"])
        assert not any(c in x for x in texts[:CLOSE_FROM] for c in closes)
        assert any(c in texts[CLOSE_FROM] for c in closes) and any(c in texts[CLOSE_FROM + 1] for c in closes)
        for speaker, text in d["turns"]:  # answers use the speaker's own persona facts
            me = a if speaker == "A" else b
            answered += any(
                isinstance(v, str) and v in text for v in me.facts.values() if v != me.facts.get("venue")
            )
    assert len(grounds) == 12 and answered >= 6


def test_common_ground_follows_the_speech_event_family():
    by_family = {}
    for i in range(40):
        d = _dialogue("fr", i, num_turns=0)
        by_family.setdefault(d["event"].family, []).append(d["ground"])
    cg = load_bank("fr").data["common_ground"]["trigger"]
    marks = {f: [_mark(t) for t in ts] for f, ts in cg.items()}
    assert len(by_family) == 3
    for family, grounds in by_family.items():
        for g in grounds:
            assert {f for f, ms in marks.items() if any(m in g for m in ms)} == {family}, g


def test_answers_are_deterministic_for_a_request_and_its_seed():
    d1, d2 = _dialogue("ja", 3, num_turns=6), _dialogue("ja", 3, num_turns=6)
    assert d1 == d2
    plan_msgs = PROMPTS.persona_messages(get_language("de"), ["food/dish", "pets/dog"], 5, [])
    assert _ask(plan_msgs, 1) == _ask(plan_msgs, 1) != _ask(plan_msgs, 2)


def test_bank_texts_are_plain_text_by_kind():
    for lang in LANGUAGES:
        assert set(BANK[lang]) == {"persona", "common_ground", "utterance"}
        texts = [t for kind in BANK[lang].values() for t in kind]
        assert all(isinstance(t, str) and t and "{" not in t for t in texts)
        assert len(BANK[lang]["utterance"]) >= 40 and len(BANK[lang]["persona"]) >= 60
