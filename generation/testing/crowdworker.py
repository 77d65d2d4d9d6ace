"""A scripted "crowdworker" responder for the loopback OpenAI server: answers MOUD's persona, common
ground and dialogue prompts with native text composed from hand-written per-language banks
(``crowdworker_bank/<code>.yaml``, composed by ``crowd_compose.py``): personas from slot banks per taxonomy
category, common grounds from both personas and the speech event's family, and dialogues that open, follow
the speaker's persona and the speech event, and close only at the end. Deterministic from the request
(messages + seed), so runs are reproducible and parsers see realistic multilingual output.

    server = FakeOpenAIServer(responder=ScriptedCrowdworker(malformed_rate=0.1))

It writes only the languages of ``crowdworker_bank/`` (``LANGUAGES``); a request for another language
is refused with HTTP 400 naming the ones it writes, unless ``fallback_language`` is set (then it answers in
that language, which the quality gates will rightly drop). ``generation/testing/slips.py`` wraps it to
inject the mistakes real models make. ``moud judge`` prompts, in any language, are answered by the scripted
judge (``generation/testing/scripted_judge.py``): deterministic scores computed from the judged text.
``BANK`` holds plain texts of each bank by kind (``persona``, ``common_ground``, ``utterance``: the turns
it may say word for word), for tests and slips.
"""

from __future__ import annotations

import hashlib
import json
import random

from generation.testing import crowd_compose
from generation.testing.crowd_bank import bank_languages, load_bank, sample_texts
from generation.testing.replies import Reply
from generation.testing.scripted_judge import ScriptedJudge, is_judge_prompt
from moud_core.languages import load_registry

LANGUAGES = bank_languages()
BANK = {code: sample_texts(load_bank(code)) for code in LANGUAGES}
_TARGET = "Target language: "


def _h(*parts) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()[:8], "big")


def request_kind(everything: str) -> str:
    """Which MOUD step a request is for: persona, common_ground or turn (from the prompt text)."""
    if "writing personas" in everything:
        return "persona"
    if "narrator" in everything:
        return "common_ground"
    return "turn"


def prompt_text(body: dict) -> str:
    return "\n".join(m.get("content") or "" for m in body.get("messages", []))


class ScriptedCrowdworker:
    def __init__(
        self, malformed_rate: float = 0.0, empty_rate: float = 0.0, fallback_language: str | None = None
    ):
        if fallback_language is not None and fallback_language not in BANK:
            raise ValueError(
                f"fallback_language {fallback_language!r}: the crowdworker writes {', '.join(LANGUAGES)}"
            )
        self.malformed_rate, self.empty_rate = malformed_rate, empty_rate
        self.fallback = fallback_language
        self.registry = load_registry()
        self.by_name = {lang.name: code for code, lang in self.registry.items()}
        self.calls = 0
        self.judge = ScriptedJudge()

    def asked_language(self, text: str) -> str | None:
        """The registry code named on the prompt's "Target language:" line (None when there is none)."""
        i = text.find(_TARGET)
        if i < 0:
            return None
        return self.by_name.get(text[i + len(_TARGET) :].split(" (", 1)[0].strip())

    def language_of(self, text: str) -> str | None:
        """The bank language to answer in: the asked one, else the fallback (None: refuse)."""
        code = self.asked_language(text)
        return code if code in BANK else self.fallback

    def __call__(self, body: dict) -> str | Reply:
        self.calls += 1
        messages = body.get("messages", [])
        everything = prompt_text(body)
        if is_judge_prompt(everything):  # `moud judge` against the same server: the scripted judge answers
            system = next((m.get("content") or "" for m in messages if m.get("role") == "system"), "")
            return self.judge(system, messages[-1].get("content") or "")
        lang = self.language_of(everything)
        if lang is None:
            asked = self.asked_language(everything)
            name = f"{self.registry[asked].name} ({asked})" if asked else "an unnamed language"
            return Reply(
                status=400,
                error=f"the scripted crowdworker has no text for {name}; it writes "
                f"{', '.join(LANGUAGES)} (python -m generation.testing.fake_openai --help)",
            )
        key = _h(json.dumps(messages, ensure_ascii=False, sort_keys=True), body.get("seed"))
        bank, rng = load_bank(lang), random.Random(key)
        roll = (key % 10_000) / 10_000
        kind = request_kind(everything)
        if kind == "persona":
            if roll < self.malformed_rate:
                return "Sure! Here is a persona for you."
            sentences = crowd_compose.persona(bank, rng, everything)
            return "\n".join(f"{i + 1}. {s}" for i, s in enumerate(sentences))
        if kind == "common_ground":
            return crowd_compose.common_ground(bank, rng, everything)
        if roll < self.empty_rate:
            return ""
        system = (messages[0].get("content") or "") if messages else ""
        turns = [m for m in messages[1:] if m.get("role") in ("user", "assistant")]
        if turns and turns[0]["role"] == "user":
            asked = self.registry[self.asked_language(everything) or lang].name
            if crowd_compose.is_opening_request(turns[0].get("content") or "", asked):
                turns = turns[1:]
        history = [(m["role"] == "assistant", m.get("content") or "") for m in turns]
        return crowd_compose.turn(bank, rng, system, history)
