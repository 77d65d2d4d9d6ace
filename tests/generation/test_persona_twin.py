"""Inline, persona B is judged against persona A: a twin is regenerated (and the step fails when every
attempt is a twin); the scripted server's persona_twin and preamble_common_ground slips."""

from __future__ import annotations

import itertools
import threading

import moud_cli
from generation.testing.crowdworker import ScriptedCrowdworker, prompt_text, request_kind
from generation.testing.fake_openai import FakeOpenAIServer
from generation.testing.slips import MATERIAL, SlipInjector, persona_twins
from moud_core.languages import get_language
from tests.generation.helpers import read_rows
from tests.generation.test_slips import EVENT, PROMPTS, persona_body

TWIN = MATERIAL["languages"]["fr"]["favorite_persona"]


def generate(out, base_url: str) -> int:
    return moud_cli.main(
        ["generate", "--out", str(out), "--languages", "fr", "--dialogues", "1"]
        + ["--model", "m", "--base-url", base_url, "--quiet"]
    )


class FirstPersonasTwin:
    """The crowdworker, except that the first two persona requests (A's and B's first attempts) get the
    same persona."""

    def __init__(self):
        self.inner, self.count, self.lock = ScriptedCrowdworker(), itertools.count(), threading.Lock()

    def __call__(self, body):
        if request_kind(prompt_text(body)) == "persona":
            with self.lock:
                n = next(self.count)
            if n < 2:
                return "\n".join(f"{i + 1}. {s}" for i, s in enumerate(TWIN))
        return self.inner(body)


def test_a_twin_persona_b_is_regenerated(tmp_path):
    with FakeOpenAIServer(FirstPersonasTwin(), model="m") as server:
        assert generate(tmp_path / "run", server.base_url) == 0
    row = read_rows(tmp_path / "run")["fr"][0]
    assert not persona_twins(row) and row["persona_a"] == TWIN
    twin = [r for r in row["metadata"]["rejected_outputs"] if r["gate"] == "persona_twin"]
    assert twin and twin[0]["field"] == "persona_b" and twin[0]["action"] == "regenerated"
    assert row["metadata"]["step_attempts"]["persona"] == 3


def test_persona_b_that_stays_a_twin_fails_the_dialogue(tmp_path):
    with FakeOpenAIServer(SlipInjector(rates={"persona_twin": 1.0}), model="m") as server:
        assert generate(tmp_path / "run", server.base_url) == 2
    failure = read_rows(tmp_path / "run", "failures")["fr"][0]
    assert failure["step"] == "persona" and failure["reason"] == "rejected_persona_twin"
    assert not read_rows(tmp_path / "run")["fr"]


def test_new_slip_kinds_are_injected_and_recorded():
    slips = SlipInjector(rates={"persona_twin": 1.0})
    reply = slips(persona_body("fr", 3))
    assert sorted(line[3:] for line in reply.content.splitlines()) == sorted(
        MATERIAL["languages"]["fr"]["favorite_persona"]
    )
    assert slips.counts()["persona_twin"] == 1 and slips.injections[-1].markers == ()
    slips = SlipInjector(rates={"preamble_common_ground": 1.0})
    persona = ["Me llamo Ana."]
    messages = PROMPTS.common_ground_messages(get_language("es"), persona, ["Soy Luis."], EVENT)
    reply = slips({"model": "m", "messages": messages, "seed": 1})
    inj = slips.injections[-1]
    assert inj.kind == "preamble_common_ground" and inj.found_in(reply.content)
    assert reply.content.startswith(inj.markers[0])
    assert inj.markers[0] in MATERIAL["languages"]["es"]["scene_preamble"]
