"""Per-text gates (inline.TextGates) and the gate registry: the row check is built from the same checks."""

from __future__ import annotations

import copy

import pytest

from moud_core.errors import MoudError
from moud_gates.base import GATES, Drop, Gate, register
from moud_gates.config import FilterConfig
from moud_gates.inline import TextGates
from moud_gates.pipeline import FilterPipeline
from moud_gates.report import format_table
from tests.gates.helpers import TEXTS, make_row, with_turn


@pytest.fixture(scope="module")
def pipe():
    return FilterPipeline.from_config(None)


@pytest.fixture(scope="module")
def text_gates(pipe):
    """The per-text part of the pipeline's own gates."""
    return TextGates(pipe.config, pipe.registry, gates=pipe.gates)


def _per_text(gates: TextGates, row: dict) -> Drop | None:
    """The row's first failing text by TextGates, texts in the pipeline's order (gate by gate)."""
    turns = [t["text"] for t in row["turns"]]
    personas = list(dict.fromkeys(row["persona_a"] + row["persona_b"]))
    fields = [(f"turns[{i}]", t) for i, t in enumerate(turns)]
    fields += [(f"persona_a[{i}]", s) for i, s in enumerate(row["persona_a"])]
    for gate in gates.gates:
        one = TextGates(gates.config, gates.registry, gates=[gate])
        for where, text in fields:
            earlier = turns[: int(where[6:-1])] if where.startswith("turns[") else ()
            drop = one.check(row["language"], where, text, earlier_turns=earlier, personas=personas)
            if drop is not None:
                return drop
    return None


@pytest.mark.parametrize(
    "lang,i,text,gate",
    [
        ("fr", 2, "I really love hiking in the mountains with my dog.", "lid"),
        ("ja", 1, "watashi wa inu wo nihiki katte imasu.", "script"),
        ("fr", 3, "A: Salut, ça va ?", "leakage"),
        ("fr", 4, "je suis content " * 8, "repetition"),
        ("zh", 5, "   ", "length"),
    ],
)
def test_text_gates_and_row_check_agree(pipe, text_gates, lang, i, text, gate):
    row = with_turn(make_row(lang), i, text)
    drop, _, _ = pipe.check_stateless(copy.deepcopy(row))
    single = _per_text(text_gates, row)
    assert drop is not None and single is not None and drop.gate == single.gate == gate
    assert single.scores["field"] == drop.scores["field"] == single.field == f"turns[{i}]"
    assert single.reason == drop.reason
    assert pipe.check_stateless(make_row(lang))[0] is None and _per_text(text_gates, make_row(lang)) is None


def test_text_gates_use_earlier_turns_and_personas(pipe, text_gates):
    gates = text_gates
    turns = TEXTS["fr"]
    # while generating, a repeated turn is regenerated the first time (filters.yaml `inline:`; moud filter
    # tolerates one repeat per dialogue of human text), and near-repeats of either speaker count
    drop = gates.check("fr", "turns[6]", turns[0], earlier_turns=turns)
    assert drop.gate == "repetition" and drop.scores == {
        "field": "turns[6]",
        "kind": "repeated_turn",
        "repeats": "turns[0]",
        "repeated_turns": 1,
    }
    drop = gates.check("fr", "turns[1]", "Ah, " + turns[0], earlier_turns=turns[:1])
    assert (
        drop.gate == "repetition"
        and drop.scores["kind"] == "near_repeat"
        and drop.scores["repeats"] == "turns[0]"
    )
    far = [turns[0], *[f"Phrase numéro {i} sans aucun rapport avec le reste." for i in range(12)]]
    assert (
        gates.check("fr", "turns[13]", "Oui, " + turns[0], earlier_turns=far).scores["repeats"] == "turns[0]"
    )
    row = make_row("fr", [*turns, turns[0]])
    assert pipe.check(row).kept  # the same text passes moud filter's dialogue tolerance
    persona = "Je travaille comme boulanger dans une petite boutique du vieux Lyon."
    copied = "Eh bien, je travaille comme boulanger dans une petite boutique du vieux Lyon !"
    assert gates.check("fr", "turns[1]", copied, earlier_turns=turns[:1]) is None
    drop = gates.check("fr", "turns[1]", copied, earlier_turns=turns[:1], personas=[persona])
    assert drop.gate == "leakage" and drop.scores["kind"] == "persona_copy"
    # persona sentences and the common ground get the language checks only
    drop = gates.check("fr", "persona_b[0]", "I am a software engineer living in Seattle with two cats.")
    assert drop.gate == "lid" and drop.scores["field"] == "persona_b[0]"
    assert gates.check("fr", "common_ground", "A: " + turns[0]) is None
    # ... and the boilerplate rule: an opening clause that names the conversation
    for text in (
        "Voici le contexte de la conversation : Deux voisins se croisent au marché.",
        "Here is the common ground of the conversation: Deux voisins se croisent au marché.",
    ):
        drop = gates.check("fr", "common_ground", text)
        assert drop.gate == "leakage" and drop.scores["kind"] == "assistant_boilerplate", text


def test_text_gates_from_config_and_bad_input(tmp_path):
    user = tmp_path / "f.yaml"
    user.write_text("gates: [length]\ndefaults:\n  length: {max_chars: 20}\n")
    gates = TextGates.from_config(user)
    assert [g.name for g in gates.gates] == ["length"]
    assert gates.check("fr", "turns[0]", "I really love hiking in the mountains.").scores["chars"] == 38
    with pytest.raises(MoudError, match="field 'turn3'"):
        gates.check("fr", "turn3", "bonjour")
    with pytest.raises(MoudError, match="unknown language code 'xx'"):
        gates.check("xx", "turns[0]", "bonjour")


def test_registered_gate_runs_without_the_pipeline_naming_it(monkeypatch, tmp_path):
    class NoHello(Gate):
        name = "no_hello"
        persona = False
        counts = ("greetings_seen",)

        def check_text(self, item, ctx):
            ctx.count("greetings_seen", item.text.lower().count("salut"))
            if "hello" in item.text.lower():
                return Drop(self.name, f"{item.where}: says hello", {"field": item.where})
            return None

    monkeypatch.setitem(GATES, "no_hello", NoHello)
    assert register(NoHello) is NoHello
    user = tmp_path / "f.yaml"
    user.write_text("gates: [length, no_hello]\n")
    pipe = FilterPipeline(FilterConfig.load(user))
    res = pipe.check(with_turn(make_row("fr"), 2, "Hello, je suis là."))
    assert not res.kept and res.drop.gate == "no_hello" and res.drop.scores == {"field": "turns[2]"}
    assert pipe.stats_dict()["languages"]["fr"]["dropped"] == {"no_hello": 1}
    # its counter is written and printed like language ID's, by nobody who knows its name
    pipe.check(with_turn(make_row("fr", index=1), 2, "Salut, salut !"))
    fr = pipe.stats_dict()["languages"]["fr"]
    assert list(fr) == ["input", "kept", "dropped", "skipped_short", "undetermined", "greetings_seen"]
    assert fr["greetings_seen"] == 1 + 1 + 2  # turns[0] of both rows ("Salut !"), then "Salut, salut !"
    head, line = format_table(pipe.stats_dict(), pipe.config.gates).splitlines()
    assert head.split()[-3:] == ["skipped_short", "undetermined", "greetings_seen"]
    assert line.split()[-1] == str(fr["greetings_seen"])
    assert TextGates(pipe.config, pipe.registry).check("fr", "turns[0]", "hello").gate == "no_hello"
