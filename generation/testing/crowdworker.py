"""A scripted "crowdworker" responder for the loopback OpenAI server: answers MOUD's persona, common
ground and dialogue prompts with hand-written native text, deterministically from the request
(messages + seed), so runs are reproducible and parsers see realistic multilingual output.

    server = FakeOpenAIServer(responder=ScriptedCrowdworker(malformed_rate=0.1))

It writes only the languages of ``crowdworker_bank.yaml`` (``LANGUAGES``); a request for another language
is refused with HTTP 400 naming the ones it writes, unless ``fallback_language`` is set (then it answers in
that language, which the quality gates will rightly drop). ``generation/testing/slips.py`` wraps it to
inject the mistakes real models make. ``moud judge`` prompts, in any language, are answered by the scripted
judge (``generation/testing/scripted_judge.py``): deterministic scores computed from the judged text.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

from generation.testing.replies import Reply
from generation.testing.scripted_judge import ScriptedJudge, is_judge_prompt
from moud_core.languages import load_registry

BANK = yaml.safe_load((Path(__file__).parent / "crowdworker_bank.yaml").read_text(encoding="utf-8"))
LANGUAGES = tuple(BANK)
_TARGET = "Target language: "
PERSON = 5  # sentences per person in the bank's ``persona`` list


def _h(*parts) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()[:8], "big")


def person(bank: dict, key: int) -> list[str]:
    """One of the bank's people (``persona`` holds them five sentences each), drawn by ``key``."""
    people = [bank["persona"][i : i + PERSON] for i in range(0, len(bank["persona"]), PERSON)]
    return people[key % len(people)]


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
        bank = BANK[lang]
        roll = (key % 10_000) / 10_000
        kind = request_kind(everything)
        if kind == "persona":
            if roll < self.malformed_rate:
                return "Sure! Here is a persona for you."
            return "\n".join(f"{i + 1}. {s}" for i, s in enumerate(person(bank, key)))
        if kind == "common_ground":
            return " ".join(bank["common_ground"])
        if roll < self.empty_rate:
            return ""
        # like a good crowdworker, avoid saying what was already said (repeats only once exhausted)
        said = {m.get("content") for m in messages}
        fresh = [u for u in bank["utterance"] if u not in said] or bank["utterance"]
        return fresh[key % len(fresh)]
