"""What happens to each model output before it may enter a dialogue: reasoning removed, truncation
trimmed or regenerated, inline gates (a stand-in checker here; the real TextGates in test_inline_gates.py),
attempts and rejections recorded, failures with reasons."""

from __future__ import annotations

import asyncio

import pytest

from generation.config import load_run_config
from generation.dialogue_plan import plan_dialogue
from generation.output_checks import OutputChecker, OutputLog, Rejected, trim_to_sentence
from generation.parsing import clean_utterance, parse_persona
from generation.prompts import PromptSet
from generation.reasoning import strip_reasoning
from generation.steps import DialogueFailure, StepContext, make_dialogue
from generation.testing.crowdworker import ScriptedCrowdworker, prompt_text, request_kind
from generation.testing.fake_openai import Reply
from generation.testing.local_backend import ResponderBackend
from moud_core.backends.base import ChatResponse
from moud_core.errors import ConfigError
from moud_core.languages import get_language
from moud_core.records import BACKEND_FAILURE_REASONS
from moud_core.schema import validate_row
from moud_core.taxonomy import load_persona_taxonomy, load_speech_events


@pytest.mark.parametrize(
    "text,visible,unclosed",
    [
        ("<think>The user wants French.</think>Salut !", "Salut !", False),
        (
            "<think>\nplan\n</think>\n\n1. Je suis Léa.\n2. J'habite à Nantes.",
            "1. Je suis Léa.\n2. J'habite à Nantes.",
            False,
        ),
        ("<THINK>a</THINK> Bonjour <thinking>b</thinking>!", "Bonjour !", False),
        (
            "Okay, so I should answer in French.</think>\nBonjour !",
            "Bonjour !",
            False,
        ),  # opening tag in the prompt
        ("<think>\nLet me write five sentences: a city, a job", "", True),  # never closed
        ("Bonjour ! <think>hmm", "Bonjour !", True),
        ("Pas de balise ici, 3 < 4.", "Pas de balise ici, 3 < 4.", False),
    ],
)
def test_strip_reasoning(text, visible, unclosed):
    got = strip_reasoning(text)
    assert got.text == visible and got.unclosed == unclosed
    assert (got.reasoning_chars > 0) == (visible != text)


@pytest.mark.parametrize(
    "text,kept",
    [
        ("Tu fais quoi ce week-end ? Moi je pen", "Tu fais quoi ce week-end ?"),
        ("Salut ! Ça va ?", "Salut ! Ça va ?"),
        (
            "1. Je suis Léa.\n2. J'habite à Nantes.\n3. J'adore les cr",
            "1. Je suis Léa.\n2. J'habite à Nantes.",
        ),
        ("好久不见！你最近怎么", "好久不见！"),
        ("« Bonjour. » Et toi, tu", "« Bonjour. »"),
        ("Il coûte 3.5 euros et je", ""),
        ("Moi je pen", ""),
    ],
)
def test_trim_to_sentence(text, kept):
    assert trim_to_sentence(text) == kept


def test_visible_rejects_reasoning_only_and_truncation():
    checker, log = OutputChecker("fr"), OutputLog()
    with pytest.raises(Rejected) as err:
        checker.visible(
            ChatResponse("", completion_tokens=50, reasoning_tokens=50), log, "dialogue", "turns[0]", 0
        )
    assert err.value.tag == "reasoning_only"
    with pytest.raises(Rejected) as err:
        checker.visible(
            ChatResponse("<think>hmm, French", completion_tokens=8, finish_reason="length"),
            log,
            "dialogue",
            "turns[0]",
            1,
        )
    assert err.value.tag == "reasoning_only" and "unclosed" in err.value.drop.reason
    assert err.value.drop.gate == "reasoning"
    with pytest.raises(Rejected) as err:
        checker.visible(ChatResponse("   ", completion_tokens=1), log, "dialogue", "turns[0]", 2)
    assert err.value.tag == "empty_output"
    assert log.reasoning_tokens == 50 + 8
    # trimmed to the last complete sentence, with a note saying what was dropped
    text = checker.visible(
        ChatResponse("Salut ! Moi je pen", completion_tokens=6, finish_reason="length"),
        log,
        "dialogue",
        "turns[3]",
        0,
    )
    assert text == "Salut !"
    assert log.ordered()[-1]["action"] == "trimmed" and "Moi je pen" in log.ordered()[-1]["reason"]
    assert log.ordered()[-1]["gate"] == "truncation" and len(log.ordered()) == 1
    with pytest.raises(Rejected) as err:  # nothing complete to keep
        checker.visible(ChatResponse("Moi je pen", finish_reason="length"), log, "dialogue", "turns[3]", 1)
    assert err.value.tag == "truncated"
    with pytest.raises(Rejected):  # regenerate: never trimmed
        OutputChecker("fr", on_truncated="regenerate").visible(
            ChatResponse("Salut ! Moi je pen", finish_reason="length"), log, "dialogue", "turns[3]", 2
        )


def test_parser_keeps_only_the_list_and_strips_bold_labels():
    text = (
        "Bien sûr ! Voici une persona :\n1. Je suis Léa.\n2. J'habite à Nantes.\n3. J'ai un chien.\n"
        "4. Je fais du vélo.\n5. J'aime le cidre.\nJ'espère que ça te plaît !"
    )
    assert parse_persona(text, 5, 4) == [
        "Je suis Léa.",
        "J'habite à Nantes.",
        "J'ai un chien.",
        "Je fais du vélo.",
        "J'aime le cidre.",
    ]
    assert clean_utterance("**B:** Salut, ça va ?") == "Salut, ça va ?"
    assert clean_utterance("Bon : je pense que oui") == "Bon : je pense que oui"


class Banned:
    """A stand-in for TextGates (same contract): drops any text containing one of ``words``."""

    def __init__(self, *words):
        self.words, self.calls = words, []

    def prefill(self, language, texts):
        return {}

    def check_item(self, language, item, memo=None):
        from moud_gates.base import Drop

        self.calls.append((item.where, tuple(item.earlier_turns)))
        for w in self.words:
            if w in item.text:
                return Drop("leakage", f"contains {w!r}", {"field": item.where})
        return None


def scripted(replace: dict):
    """The crowdworker, with answers to (kind, seed-attempt) replaced: ``replace[kind]`` maps the n-th
    request of that kind (0-based) to the text to send instead."""
    worker, seen = ScriptedCrowdworker(), {}

    def respond(body):
        kind = request_kind(prompt_text(body))
        n = seen[kind] = seen.get(kind, -1) + 1
        got = replace.get(kind, {}).get(n)
        return worker(body) if got is None else got

    return respond


def dialogue(responder, gates=None, **overrides):
    cfg = load_run_config(
        None, {"dialogue": {"min_turns": 4, "max_turns": 4, "max_attempts": 3}, **overrides}
    )
    lang = get_language("fr")
    backend = ResponderBackend(responder)
    ctx = StepContext(backend, PromptSet.load(), cfg, lang, OutputChecker("fr", gates, cfg["on_truncated"]))
    plan = plan_dialogue(cfg, "fr", 0, load_persona_taxonomy(), load_speech_events(), [])
    local = ctx.fork()
    return asyncio.run(make_dialogue(local, plan)), backend, local


def test_rejected_turn_is_regenerated_with_a_new_seed_and_never_enters_history():
    gates = Banned("Voici la suite")
    parts, backend, _ = dialogue(
        scripted(
            {
                "turn": {
                    1: "Voici la suite : Salut !",
                    2: Reply(content="<think>reasoning", finish_reason="length"),
                }
            }
        ),
        gates,
    )
    turns = [t["text"] for t in parts["turns"]]
    assert len(turns) == 4 and not any("Voici" in t or "think" in t for t in turns)
    rejected = [r for r in parts["rejected_outputs"] if r["action"] != "trimmed"]
    assert [(r["field"], r["attempt"], r["gate"], r["action"]) for r in rejected] == [
        ("turns[1]", 0, "leakage", "regenerated"),
        ("turns[1]", 1, "reasoning", "regenerated"),
    ]
    assert parts["step_attempts"] == {"persona": 2, "common_ground": 1, "dialogue": 6}
    assert parts["inline_gates"] is True
    seeds = [r.seed for r in backend.requests[3:]]
    assert len(set(seeds)) == len(seeds)  # every attempt has its own seed
    # later prompts never show the rejected outputs
    assert not any("Voici la suite" in c for r in backend.requests for _, c in r.messages)
    # the gates saw each turn with the turns before it
    assert gates.calls[-1] == ("turns[3]", tuple(turns[:3]))


def test_a_step_that_gives_up_fails_the_dialogue_with_its_rejections():
    with pytest.raises(DialogueFailure) as err:
        dialogue(
            scripted({"persona": dict.fromkeys(range(6), "1. Sure!\n2. Here\n3. is\n4. a persona")}),
            Banned("Sure"),
            persona={"max_attempts": 2},
        )
    fail = err.value
    assert fail.step == "persona" and fail.reason == "rejected_leakage"
    assert fail.reason not in BACKEND_FAILURE_REASONS  # output failures are final (unless --retry-failed)
    assert [(r["field"], r["action"]) for r in fail.rejected_outputs] == [
        ("persona_a", "regenerated"),
        ("persona_a", "failed"),
        ("persona_b", "regenerated"),
        ("persona_b", "failed"),
    ]


def test_backend_failures_are_retryable():
    with pytest.raises(DialogueFailure) as err:
        dialogue(lambda body: Reply(status=500))
    assert err.value.reason == "server_error" and err.value.reason in BACKEND_FAILURE_REASONS


def test_after_min_turns_a_rejected_turn_ends_the_dialogue():
    parts, _, _ = dialogue(
        scripted({"turn": {5: "Voici la suite : Salut !"}}),
        Banned("Voici"),
        dialogue={"min_turns": 4, "max_turns": 8},
    )
    assert len(parts["turns"]) == 5 and parts["stop_reason"] == "rejected_leakage"
    assert parts["rejected_outputs"][-1]["action"] == "stopped"


def test_without_inline_gates_only_empty_turns_and_verbatim_loops_are_rejected():
    parts, _, _ = dialogue(scripted({"turn": {1: "Voici la suite : Salut !"}}), None, inline_gates=False)
    assert parts["turns"][1]["text"] == "Voici la suite : Salut !" and parts["inline_gates"] is False


def test_same_seed_same_dialogue_and_metadata():
    respond = scripted({"turn": {1: "Voici la suite : Salut !"}})
    a, _, _ = dialogue(respond, Banned("Voici"))
    b, _, _ = dialogue(scripted({"turn": {1: "Voici la suite : Salut !"}}), Banned("Voici"))
    assert a == b


def test_rows_carry_the_output_metadata_and_stay_valid():
    from moud_core.schema import example_row

    row = example_row()
    assert validate_row(row) == []
    row["metadata"]["rejected_outputs"] = [
        {
            "step": "dialogue",
            "field": "turns[1]",
            "attempt": 0,
            "gate": "lid",
            "reason": "English",
            "action": "regenerated",
        }
    ]
    assert validate_row(row) == []
    row["metadata"]["rejected_outputs"][0]["attempt"] = "0"
    assert validate_row(row) == ["metadata.rejected_outputs[0].attempt: expected integer"]
    row["metadata"]["rejected_outputs"] = []
    del row["metadata"]["step_attempts"]["dialogue"]
    assert validate_row(row) == ["metadata.step_attempts.dialogue: expected integer"]


def test_inline_gate_settings_are_fingerprinted(tmp_path):
    on, off = load_run_config(None, {}), load_run_config(None, {"inline_gates": False})
    regen = load_run_config(None, {"on_truncated": "regenerate"})
    assert len({on.fingerprint, off.fingerprint, regen.fingerprint}) == 3
    gates = tmp_path / "gates.yaml"
    gates.write_text("defaults: {lid: {top_k: 2}}\n", encoding="utf-8")
    a = load_run_config(None, {"filter_config": str(gates)})
    gates.write_text("defaults: {lid: {top_k: 3}}\n", encoding="utf-8")
    b = load_run_config(None, {"filter_config": str(gates)})
    assert a.fingerprint != b.fingerprint != on.fingerprint
    with pytest.raises(ConfigError, match="on_truncated"):
        load_run_config(None, {"on_truncated": "keep"})
