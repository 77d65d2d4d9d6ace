"""What the scripted crowdworker writes, composed from a language's bank (``crowd_bank.py``):

- a persona: one sentence per asked taxonomy category, slots drawn for one invented person (a first name
  and a gender), the name introduced in the first sentence;
- a common ground: how the two people know each other, where they meet (a place from their personas) and
  what led to the talk, from sentences of the speech event's family (informal, involving, goal_directed);
- a turn: an opening (greeting + the setting of the common ground), then answers to the other's questions
  from the speaker's own persona, questions, things about oneself and lines of the speech event's family,
  and goodbyes only in the last turns a dialogue can have. A turn already said in the dialogue is not said
  again while another one is left.

Every choice is drawn from the ``random.Random`` the caller seeds (from the request and its seed).
"""

from __future__ import annotations

import math
import random
import re

from generation.config import DEFAULTS
from generation.testing.crowd_bank import Bank, Person
from moud_core.taxonomy import load_persona_taxonomy, load_speech_events

FAMILY = {e.name: e.family for e in load_speech_events()}
CATEGORIES = {c.replace("_", " "): c for c in load_persona_taxonomy()}
CLOSE_FROM = DEFAULTS["dialogue"]["max_turns"] - 2  # goodbyes only in the last two turns a dialogue can have
_COUNT = re.compile(r"Write a persona: (\d+) ")
_EVENT = re.compile(r"(?:The conversation is of this type|Type of conversation): (.+?) — ")


def _between(text: str, start: str, end: str) -> str:
    i = text.find(start)
    if i < 0:
        return ""
    i += len(start)
    j = text.find(end, i)
    return text[i : j if j >= 0 else len(text)]


def _family(text: str) -> str:
    m = _EVENT.search(text)
    return FAMILY.get(m.group(1).strip(), "informal") if m else "informal"


# -- personas ---------------------------------------------------------------------------------------
def persona(bank: Bank, rng: random.Random, prompt: str) -> list[str]:
    """Numbered-list lines of a persona for the categories the prompt asks for."""
    asked = [
        CATEGORIES.get(ln[2:].split(":", 1)[0].strip()) for ln in prompt.splitlines() if ln.startswith("- ")
    ]
    asked = [c for c in asked if c]
    m = _COUNT.search(prompt)
    n = int(m.group(1)) if m else 5
    templates = bank.data["persona"]
    while len(asked) < n:
        asked.append(rng.choice(sorted(templates)))
    gender = rng.choice("mf")
    me = Person(gender, rng.choice(bank.names[gender]))
    # one home town per person; the other slots drawn afresh in each sentence
    sentences = [bank.render(_draw(bank, rng, templates[c]), rng, me, keep=("city",)) for c in asked[:n]]
    first = sentences[0]
    if bank.data.get("lower_first"):
        first = first[0].lower() + first[1:]
    sentences[0] = bank.render(bank.data["intro"].replace("{rest}", first), rng, me)
    return sentences


def _draw(bank: Bank, rng: random.Random, templates: list[str]) -> str:
    """A template drawn in proportion to the sentences it can make, so that every sentence of a category is
    about as likely as any other: two people given the same category rarely write the same sentence."""
    weights = [math.prod(len(bank.slots[k]) for k in bank.needs(t) if k in bank.slots) for t in templates]
    return rng.choices(templates, weights=weights)[0]


# -- common grounds ---------------------------------------------------------------------------------
def common_ground(bank: Bank, rng: random.Random, prompt: str) -> str:
    a = bank.person(_between(prompt, "Person A:\n", "\nPerson B:"))
    b = bank.person(_between(prompt, "Person B:\n", "\nThe conversation is of this type"))
    for who in (a, b):
        if who.name is None:
            who.gender = rng.choice("mf")
            who.name = rng.choice([n for n in bank.names[who.gender] if n not in (a.name, b.name)])
    if b.name == a.name:  # two people of the same name: B gets another one
        b.name = rng.choice([n for n in bank.names[b.gender] if n != a.name])
    place = a.facts.get("city") or b.facts.get("city")
    if place is not None:
        a.facts["city"] = place
    family, cg = _family(prompt), bank.data["common_ground"]
    parts = [cg["relation"][family], cg["setting"]["any"], cg["trigger"][family]]
    return bank.data.get("joiner", " ").join(bank.render(rng.choice(part), rng, a, b) for part in parts)


# -- turns ------------------------------------------------------------------------------------------
def is_opening_request(text: str, language_name: str) -> bool:
    """The user message that asks the first speaker to start (not a turn of the other speaker)."""
    return "Start the conversation" in text or text.rstrip(". ").endswith(f"in {language_name}")


def turn(bank: Bank, rng: random.Random, system: str, history: list[tuple[bool, str]]) -> str:
    """The next turn of the speaker whose dialogue system prompt is ``system``; ``history`` holds
    (spoken_by_me, text) pairs."""
    me = bank.person(_between(system, "Your persona:\n", "\nThe situation (common ground):"))
    ground_text = _between(system, "The situation (common ground): ", "\nType of conversation:")
    ground = bank.person(ground_text)
    if "venue" in ground.facts:  # where the common ground has them meet
        me.facts["venue"] = ground.facts["venue"]
    others = [n for n in bank.names_in(ground_text) if n != me.name]
    you = Person(bank.gender_of[others[0]], others[0]) if others else Person(rng.choice("mf"))
    family, t, T = _family(system), len(history), bank.data["turns"]
    last = history[-1][1] if history and not history[-1][0] else ""

    def pick(kind, who=me, other=you):
        return [bank.render(x, rng, who, other) for x in bank.pick(rng, kind, who, other)]

    join = bank.data.get("joiner", " ")
    if t == 0:
        options = [
            f"{g}{join}{h}" for g, h in zip(pick(T["greeting"]), pick(T["hook"][family]), strict=False)
        ]
    elif t == 1:
        options = pick(T["greet_back"])
    elif t == 2 and _is_question(last):  # "and you?" after the greeting
        options = [
            f"{a}{join}{b}" for a, b in zip(pick(T["greet_answer"]), pick(T["event"][family]), strict=False)
        ]
    elif t >= CLOSE_FROM:
        options = pick(T["close_back"] if t > CLOSE_FROM else T["close"])
    else:
        options = _body(bank, rng, me, you, family, history, last, pick)
    # nothing said before, nor half of it in other words (the repetition gate would drop it)
    fresh = [o for o in options if not any(text in o or _overlap(o, text) >= 0.5 for _, text in history)]
    return (fresh or [e for e in pick(T["event"][family]) if e not in {x for _, x in history}] or options)[0]


def _is_question(text: str) -> bool:
    return text.rstrip().endswith(("?", "？", "؟"))


def _questions(bank: Bank, asker: Person, asked: Person) -> dict[str, list[str]]:
    """Topic -> the questions ``asker`` can put to ``asked``, as they would read."""
    rng = random.Random(0)
    q = bank.data["turns"]["question"]
    return {
        topic: [bank.render(x, rng, asker, asked) for x in bank.pick(rng, q[topic], asker, asked)]
        for topic in q
    }


def _topic_of(text: str, questions: dict[str, list[str]]) -> str | None:
    return next((topic for topic, qs in questions.items() if any(q in text for q in qs)), None)


def _body(bank, rng, me, you, family, history, last, pick) -> list[str]:
    """Turns for the middle of a dialogue, best first: an answer from my persona to the other's question
    (perhaps asking it back), else questions not asked yet, things about myself not told yet and lines of
    the speech event's family, in a drawn order, sometimes after a reaction to the other's last turn."""
    T, join = bank.data["turns"], bank.data.get("joiner", " ")
    theirs, mine = _questions(bank, you, me), _questions(bank, me, you)
    topic = _topic_of(last, theirs) if last else None
    asked_back = topic is None and any(c in last for c in pick(T["counter"], you, me)) if last else False
    if asked_back and len(history) >= 2:  # "and you?": the topic of my own last question
        topic = _topic_of(history[-2][1], mine)
    if topic is not None:
        own = T["answer"][topic] if T["slot"][topic] in me.facts else T["unknown_answer"][topic]
        answers = sorted(pick(own), key=lambda a: _overlap(a, last))  # not in the words the other just used
        if not asked_back and rng.random() < 0.4:
            answers = [
                f"{a}{join}{c}" for a, c in zip(answers, pick(T["counter"]) * len(answers), strict=False)
            ]
        return answers
    asked = {tp for _, text in history for tp in (_topic_of(text, theirs), _topic_of(text, mine)) if tp}
    told = {tp for tp, slot in T["slot"].items() if slot in me.facts and _value_said(me, slot, history)}
    replies = pick(T["reply"]) if _is_question(last) else []
    questions = [q for tp in rng.sample(sorted(mine), len(mine)) if tp not in asked for q in mine[tp][:1]]
    shares = [
        s
        for tp in rng.sample(sorted(T["share"]), len(T["share"]))
        if tp not in told and T["slot"][tp] in me.facts
        for s in pick(T["share"][tp])[:1]
    ]
    events = pick(T["event"][family])
    roll = rng.random()
    order = (
        [questions, shares, events]
        if roll < 0.35
        else [shares, events, questions]
        if roll < 0.6
        else [events, questions, shares]
    )
    options = [
        x for x in replies + [x for group in order for x in group] if not any(x in y for _, y in history)
    ]
    if last and not replies and rng.random() < 0.5:
        react = rng.choice(T["react"])
        options = [f"{react}{join}{x}" for x in options]
    return options or pick(T["event"][family])


def _overlap(text: str, other: str) -> float:
    """Share of ``text``'s character trigrams found in ``other``."""
    grams = {text[i : i + 3] for i in range(len(text) - 2)}
    return len(grams & {other[i : i + 3] for i in range(len(other) - 2)}) / max(1, len(grams))


def _value_said(me: Person, slot: str, history) -> bool:
    value = me.facts[slot]
    forms = (value,) if isinstance(value, str) else tuple(value)
    return any(mine and any(f in text for f in forms) for mine, text in history)
