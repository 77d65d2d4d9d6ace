"""A scripted "crowdworker" responder for the loopback OpenAI server: answers MOUD's persona, common
ground and dialogue prompts with hand-written native text, deterministically from the request
(messages + seed), so runs are reproducible and parsers see realistic multilingual output.

    server = FakeOpenAIServer(responder=ScriptedCrowdworker(malformed_rate=0.1))
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import yaml

from generation.testing.fake_openai import Reply
from moud_core.languages import load_registry

BANK = yaml.safe_load((Path(__file__).parent / "crowdworker_bank.yaml").read_text(encoding="utf-8"))


def _h(*parts) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()[:8], "big")


class ScriptedCrowdworker:
    def __init__(self, malformed_rate: float = 0.0, empty_rate: float = 0.0, fallback_language: str = "fr"):
        self.malformed_rate, self.empty_rate = malformed_rate, empty_rate
        self.fallback = fallback_language
        self.by_name = {lang.name: code for code, lang in load_registry().items()}
        self.calls = 0

    def language_of(self, text: str) -> str:
        marker = "Target language: "
        i = text.find(marker)
        if i >= 0:
            name = text[i + len(marker):].split(" (", 1)[0].strip()
            code = self.by_name.get(name)
            if code in BANK:
                return code
        return self.fallback

    def __call__(self, body: dict) -> str | Reply:
        self.calls += 1
        messages = body.get("messages", [])
        everything = "\n".join(m.get("content") or "" for m in messages)
        key = _h(json.dumps(messages, ensure_ascii=False, sort_keys=True), body.get("seed"))
        lang = self.language_of(everything)
        bank = BANK[lang]
        roll = (key % 10_000) / 10_000
        if "writing personas" in everything:
            if roll < self.malformed_rate:
                return "Sure! Here is a persona for you."
            picked = random.Random(key).sample(bank["persona"], k=min(5, len(bank["persona"])))
            return "\n".join(f"{i + 1}. {s}" for i, s in enumerate(picked))
        if "narrator" in everything:
            return " ".join(bank["common_ground"])
        if roll < self.empty_rate:
            return ""
        # like a good crowdworker, avoid saying what was already said (repeats only once exhausted)
        said = {m.get("content") for m in messages}
        fresh = [u for u in bank["utterance"] if u not in said] or bank["utterance"]
        return fresh[key % len(fresh)]
