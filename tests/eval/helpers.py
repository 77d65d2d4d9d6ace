"""Helpers for eval tests: small multilingual shards and a scripted LLM judge."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path

from moud_core.schema import example_row, make_row_id

TEXTS = {
    "fr": [("A", "Salut ! Tu viens souvent au marché ?"), ("B", "Oui, tous les samedis matin.")],
    "zh": [("A", "我喜欢吃火锅"), ("B", "我喜欢喝茶")],
    "ja": [("A", "こんにちは、元気ですか"), ("B", "はい、元気です")],
}


def make_row(
    language: str,
    index: int,
    model: str = "model-a",
    turns=None,
    lid=None,
    event="small_talk",
    cats=("food/favourite dish",),
) -> dict:
    row = copy.deepcopy(example_row(language, index, turns or TEXTS.get(language, TEXTS["fr"])))
    row["id"] = make_row_id(language, index)
    row["speech_event"] = event
    row["metadata"]["generator_model"] = model
    row["metadata"]["lid_scores"] = list(lid or [])
    row["metadata"]["persona_a_categories"] = list(cats)
    row["metadata"]["persona_b_categories"] = ["pets/cat"]
    return row


def write_shards(root: Path, rows: list[dict]) -> Path:
    by_lang: dict[str, list[dict]] = {}
    for r in rows:
        by_lang.setdefault(r["language"], []).append(r)
    for lang, lrows in by_lang.items():
        d = root / "shards" / lang
        d.mkdir(parents=True, exist_ok=True)
        (d / "shard-00000.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lrows), encoding="utf-8"
        )
    return root


def prompt_ids(body: dict) -> tuple[list[str], list[str]]:
    """(item ids, criterion names) requested in a judge prompt."""
    user = body["messages"][-1]["content"]
    return re.findall(r"### Item id: (\S+)", user), re.findall(r'"(\w+)": <1-5>', user)


def stable_score(item_id: str, criterion: str) -> int:
    return 1 + int(hashlib.sha256(f"{item_id}|{criterion}".encode()).hexdigest(), 16) % 5


class ScriptedJudge:
    """Responder for FakeOpenAIServer: valid JSON scores (``stable_score``) except for scripted items:
    ``flaky`` ids answer garbage on their first request, ``out_of_range``/``refuse`` ids always fail."""

    def __init__(self, flaky=(), out_of_range=(), refuse=(), fenced=True):
        self.flaky, self.out_of_range, self.refuse = set(flaky), set(out_of_range), set(refuse)
        self.fenced = fenced
        self.seen: dict[str, int] = {}

    def __call__(self, body: dict) -> str:
        ids, criteria = prompt_ids(body)
        entries = []
        for item_id in ids:
            self.seen[item_id] = self.seen.get(item_id, 0) + 1
            if item_id in self.refuse:
                return "I'm sorry, but I can't help with evaluating this content."
            if item_id in self.flaky and self.seen[item_id] == 1:
                return "Let me think about it... the scores are: fluency four"
            scores = {c: (9 if item_id in self.out_of_range else stable_score(item_id, c)) for c in criteria}
            entries.append({"id": item_id, "scores": scores, "rationale": f"rated {item_id}"})
        payload = json.dumps({"items": entries}, ensure_ascii=False)
        return f"Here is my evaluation:\n```json\n{payload}\n```\nThanks." if self.fenced else payload
