"""The scripted judge: answers real ``moud judge`` prompts in the rubric's format, with scores that follow the
judged text (language, repetition) and are the same for the same text."""

from __future__ import annotations

import json

from eval.items import items_from_row
from eval.parse import parse_answer
from eval.prompt import build_messages
from eval.rubric import load_rubric
from generation.testing.crowdworker import ScriptedCrowdworker
from generation.testing.fake_openai import FakeOpenAIServer
from moud_core.languages import get_language
from tests.cli import moud
from tests.eval.helpers import make_row, write_shards

FRENCH = [
    ("A", "Salut ! Tu vas au marché de la Croix-Rousse ce samedi ?"),
    ("B", "Oui, je veux acheter du fromage et des fruits pour le week-end."),
    ("A", "Génial, on pourrait prendre un café après, il y a un petit bistrot juste à côté."),
    ("B", "Avec plaisir, je connais bien le patron, il fait des croissants délicieux."),
]
ENGLISH = [
    ("A", "Hello, how are you today?"),
    ("B", "I am fine, thank you very much."),
    ("A", "What do you do for a living?"),
    ("B", "I work at a bank downtown."),
]
LOOPING = [("A", "Oui, je veux acheter du fromage."), ("B", "Oui, je veux acheter du fromage.")] * 2


def _answer(rows: list[dict]) -> dict[str, dict[str, int]]:
    rubric = load_rubric()
    items = [i for r in rows for i in items_from_row(r) if i.kind == "dialogue"]
    messages = build_messages(items, rubric.for_kind("dialogue"), get_language("fr"))
    text = ScriptedCrowdworker()({"messages": messages, "seed": 0})
    parsed = parse_answer(text, [i.item_id for i in items], [c.name for c in rubric.for_kind("dialogue")])
    assert all(p.scores is not None for p in parsed.values()), parsed
    return {item_id: p.scores for item_id, p in parsed.items()}


def test_scores_follow_the_text_and_repeat_for_the_same_text():
    rows = [
        make_row("fr", 0, turns=FRENCH),
        make_row("fr", 1, turns=ENGLISH),
        make_row("fr", 2, turns=LOOPING),
    ]
    scores = _answer(rows)
    french, english, looping = (scores[f"fr-000000{i}/dialogue"] for i in range(3))
    assert french["fluency"] >= english["fluency"] + 2  # English text in a French dialogue
    assert french["humanness"] > looping["humanness"]  # the same line again and again
    assert french["coherence"] > looping["coherence"]
    assert _answer(rows) == scores


def test_moud_judge_runs_against_the_scripted_server_with_varied_scores(tmp_path):
    rows = [make_row("fr", i, turns=t) for i, t in enumerate([FRENCH, ENGLISH, LOOPING, FRENCH[:2]])]
    shards = write_shards(tmp_path / "run", rows)
    with FakeOpenAIServer(responder=ScriptedCrowdworker(), model="judge") as server:
        code = moud(
            "judge",
            "--shards",
            shards,
            "--out",
            tmp_path / "judged",
            "--judge-model",
            "judge",
            "--base-url",
            server.base_url,
            "--kinds",
            "dialogue",
            "--quiet",
        )
    assert code == 0
    records = [
        json.loads(line) for line in (tmp_path / "judged" / "judgments.jsonl").read_text().splitlines()
    ]
    assert {r["status"] for r in records} == {"ok"}
    fluency = {r["scores"]["fluency"] for r in records}
    assert len(fluency) > 1
