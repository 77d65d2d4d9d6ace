"""One language's bank of the scripted crowdworker (``crowdworker_bank/<code>.yaml``): slot lists, persona
templates per taxonomy category, common-ground sentences per speech-event family and turn templates.

Templates hold ``{slot}`` (a value of ``slots[slot]``, or the value already known for it), ``{name}``,
``{other}``, ``{a}``, ``{b}`` (first names) and gender choices ``{s:masc|fem}`` (the speaker, or person A),
``{o:masc|fem}`` (the addressee, or person B), ``{p:masc|fem}`` (the pair: feminine when both are women).
A slot value is a string, or ``[masculine, feminine]`` agreeing with the speaker.
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

FOLDER = Path(__file__).parent / "crowdworker_bank"
_FIELD = re.compile(r"\{(\w+)(?::([^{}]*))?\}")
_NAMES = ("name", "other", "a", "b")


@dataclass
class Person:
    """What is known of one speaker: gender ('m'/'f'), first name and slot values (str or [m, f])."""

    gender: str = "m"
    name: str | None = None
    facts: dict = field(default_factory=dict)


class Bank:
    def __init__(self, code: str, data: dict):
        self.code, self.data = code, data
        self.slots: dict = data["slots"]
        self.names: dict = data["names"]
        self.gender_of = {n: g for g, names in self.names.items() for n in names}
        self.fact_slots: tuple = tuple(data["facts"])
        self._value_of = {
            form: (slot, value)
            for slot in self.fact_slots
            for value in self.slots[slot]
            for form in _forms(value)
        }
        self._facts_re = _alternation(self._value_of, data)
        self._names_re = _alternation(self.gender_of, data)

    # -- reading text back -------------------------------------------------------------------------
    def person(self, text: str) -> Person:
        """The first name (and its gender) and the fact-slot values found in ``text`` (first ones win)."""
        names = self.names_in(text)
        person = Person(self.gender_of[names[0]], names[0]) if names else Person()
        for m in self._facts_re.finditer(text):
            slot, value = self._value_of[m.group(1)]
            person.facts.setdefault(slot, value)
        return person

    def names_in(self, text: str) -> list[str]:
        """First names of the bank in ``text``, in order of appearance."""
        return list(dict.fromkeys(m.group(1) for m in self._names_re.finditer(text)))

    # -- writing -----------------------------------------------------------------------------------
    def render(
        self, template: str, rng: random.Random, me: Person, you: Person | None = None, keep: tuple = ()
    ) -> str:
        """``template`` with its fields filled: ``me``'s facts first, else a value drawn with ``rng`` (the
        same one for a slot named twice; kept in ``me.facts`` for the slots in ``keep``)."""
        you, drawn = you or Person(), {}

        def fill(m: re.Match) -> str:
            key, choice = m.group(1), m.group(2)
            if choice is not None:
                masc, _, fem = choice.partition("|")
                pair_f = me.gender == "f" and you.gender == "f"
                female = {"s": me.gender == "f", "o": you.gender == "f", "p": pair_f}[key]
                return fem if female else masc
            if key in _NAMES:
                return (me.name if key in ("name", "a") else you.name) or ""
            value = me.facts.get(key) or drawn.get(key)
            if value is None:
                value = drawn[key] = rng.choice(self.slots[key])
                if key in keep:
                    me.facts[key] = value
            return value if isinstance(value, str) else value[me.gender == "f"]

        return _FIELD.sub(fill, template)

    @staticmethod
    def needs(template: str) -> set[str]:
        return {m.group(1) for m in _FIELD.finditer(template) if m.group(2) is None}

    def pick(self, rng: random.Random, templates: list[str], me: Person, you: Person | None = None) -> list:
        """Templates in a seeded order, those naming someone unknown left out."""
        known = {"name": me.name, "a": me.name, "other": you and you.name, "b": you and you.name}
        usable = [t for t in templates if all(known.get(k, True) for k in self.needs(t))]
        return rng.sample(usable, len(usable))


def _alternation(words, data: dict) -> re.Pattern:
    """Any of ``words`` (longest first); whole words unless the bank says ``boundaries: false`` (zh, ja),
    after one of ``prefixes`` (Arabic conjunctions and prepositions written joined to the next word)."""
    body = "|".join(map(re.escape, sorted(words, key=len, reverse=True)))
    if data.get("boundaries", True) is False:
        return re.compile(f"({body})")
    prefix = "|".join(map(re.escape, data.get("prefixes") or []))
    return re.compile(rf"(?<!\w)(?:{prefix})?({body})(?!\w)" if prefix else rf"(?<!\w)({body})(?!\w)")


def _forms(value) -> tuple:
    return (value,) if isinstance(value, str) else tuple(value)


@functools.cache
def load_bank(code: str) -> Bank:
    return Bank(code, yaml.safe_load((FOLDER / f"{code}.yaml").read_text(encoding="utf-8")))


def bank_languages() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in FOLDER.glob("*.yaml")))


def sample_texts(bank: Bank) -> dict[str, list[str]]:
    """Plain texts of a bank, by kind (``persona``, ``common_ground``, ``utterance``): persona and
    common-ground templates rendered once each, and every turn template without slots or names, each way
    its gender choices read (the turns the crowdworker may say word for word; the greeting ones first)."""
    rng, me, you = random.Random(0), Person("f", bank.names["f"][0]), Person("m", bank.names["m"][0])
    personas = [bank.render(t, rng, Person("f")) for ts in bank.data["persona"].values() for t in ts]
    cg = bank.data["common_ground"]
    grounds = [bank.render(t, rng, me, you) for part in cg.values() for ts in part.values() for t in ts]
    turns, genders = bank.data["turns"], [(Person(s), Person(o)) for s in "mf" for o in "mf"]
    plain = [
        bank.render(t, rng, *pair)
        for kind in _PLAIN_KINDS
        for t in _flat(turns.get(kind))
        if not bank.needs(t)  # gender choices only: each way it can read
        for pair in genders
    ]
    return {"persona": personas, "common_ground": grounds, "utterance": list(dict.fromkeys(plain))}


_PLAIN_KINDS = (
    "greeting",
    "greet_back",
    "question",
    "unknown_answer",
    "event",
    "preclose",
    "close",
    "close_back",
)


def _flat(node) -> list[str]:
    if node is None:
        return []
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [t for v in node.values() for t in _flat(v)]
    return [t for v in node for t in _flat(v)]
