"""The mistakes real instruction-tuned models make, injected into the scripted crowdworker's answers.

    slips = SlipInjector(ScriptedCrowdworker(), rates=REALISTIC, seed=0)
    with FakeOpenAIServer(responder=slips) as server:
        ...
    slips.counts()               # Counter: kind -> how many answers were corrupted that way
    slips.found_in(text)         # the injections whose text is in ``text`` (checks kept rows)

Kinds (material in ``slips_bank.yaml``, hand-written) and the answers they apply to:

- ``english_turn``: the turn is in English                                            (turns)
- ``gloss``: an English gloss in parentheses after the turn                           (turns)
- ``label``: a speaker label before the turn ("Personne A : ", "Camille : ", "**B:** ") (turns)
- ``think``: a ``<think>`` block before the answer; a third are never closed (the answer is cut at
  max_tokens inside the reasoning)                                                   (all)
- ``boilerplate``: an assistant preamble ("Sure! Here is…", "Bien sûr ! Voici la suite…") (all)
- ``english_persona``: the whole persona in English                                   (personas)
- ``truncation``: the answer cut mid-word, ``finish_reason: "length"``                (all)
- ``near_repeat``: "Ah, " (in the language) + an earlier turn of the dialogue           (turns)
- ``persona_twin``: a collapsed model's one favourite persona, in a random order, whatever it is asked;
  a dialogue whose personas A and B both get it has a persona twin (the injection has no markers: a twin
  is a pair of personas, not a text; ``persona_twins`` finds them in rows)                (personas)
- ``preamble_common_ground``: an acknowledgement and "here is the scene" in the language, without a colon,
  before the common ground ("Bien sûr ! Voici la scène.")                             (common ground)

Whether and how an answer is corrupted is a hash of (seed, request), so a run is reproducible and a
request asked again with another seed gets a fresh draw. Each injection is recorded with the exact text
that marks it (``Injection.markers``), which is what ``found_in`` looks for: the injector's own record,
independent of MOUD's quality gates.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import regex
import yaml

from generation.testing.crowdworker import BANK, ScriptedCrowdworker, prompt_text, request_kind
from generation.testing.faults import request_key
from generation.testing.replies import Reply, Responder

MATERIAL = yaml.safe_load((Path(__file__).parent / "slips_bank.yaml").read_text(encoding="utf-8"))
KINDS = (
    "english_turn",
    "gloss",
    "label",
    "think",
    "boilerplate",
    "english_persona",
    "truncation",
    "near_repeat",
    "persona_twin",
    "preamble_common_ground",
)
APPLIES = {
    "persona": ("english_persona", "think", "boilerplate", "truncation", "persona_twin"),
    "common_ground": ("think", "boilerplate", "truncation", "preamble_common_ground"),
    "turn": ("english_turn", "gloss", "label", "think", "boilerplate", "truncation", "near_repeat"),
}
# About 20% of turns corrupted, as measured on small real models (issue #13).
REALISTIC = {
    "english_turn": 0.05,
    "gloss": 0.03,
    "label": 0.02,
    "think": 0.03,
    "boilerplate": 0.03,
    "english_persona": 0.03,
    "truncation": 0.02,
    "near_repeat": 0.02,
    "persona_twin": 0.1,  # models collapse to a favourite persona (issue #23: real ones often do)
    "preamble_common_ground": 0.05,
}
_SENTENCE_START = regex.compile(r"(?<=[.!?。！？])\s*")
_LIST_MARK = regex.compile(r"^\d+\.\s*")


@dataclass(frozen=True)
class Injection:
    kind: str
    step: str  # persona | common_ground | turn
    language: str
    markers: tuple  # texts that appear in an output only if this injection got through
    suffix: bool = False  # markers count only at the end of a text (a truncated tail)

    def found_in(self, text: str) -> bool:
        text = text.strip()
        if self.suffix:
            return any(text.endswith(m) for m in self.markers)
        return any(m in text for m in self.markers)


def parse_rates(spec: str) -> dict[str, float]:
    """``"realistic"`` or ``"kind=rate,kind=rate"`` -> {kind: rate}; raises ValueError naming the problem."""
    rates: dict[str, float] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if part == "realistic":
            rates.update(REALISTIC)
            continue
        kind, sep, value = part.partition("=")
        if not sep or kind.strip() not in KINDS:
            raise ValueError(
                f"{part!r}: expected KIND=RATE with KIND one of {', '.join(KINDS)}, or 'realistic'"
            )
        try:
            rate = float(value)
        except ValueError:
            raise ValueError(f"{part!r}: the rate must be a number in [0, 1]") from None
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{part!r}: the rate must be in [0, 1]")
        rates[kind.strip()] = rate
    return rates


class SlipInjector:
    """A responder that corrupts a share of ``inner``'s answers (see module docstring)."""

    def __init__(self, inner: Responder | None = None, rates: dict[str, float] | None = None, seed: int = 0):
        self.inner = inner if inner is not None else ScriptedCrowdworker()
        self.rates = {k: float(v) for k, v in (REALISTIC if rates is None else rates).items()}
        unknown = set(self.rates) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown slip kind(s) {sorted(unknown)}; expected some of {', '.join(KINDS)}")
        for step, kinds in APPLIES.items():
            if sum(self.rates.get(k, 0.0) for k in kinds) > 1.0:
                raise ValueError(f"slip rates for {step} answers add up to more than 1")
        self.seed = seed
        self.injections: list[Injection] = []
        self._lock = threading.Lock()

    # -- deciding ---------------------------------------------------------------------------------
    def _draw(self, body: dict) -> random.Random:
        digest = hashlib.sha256(f"slips|{self.seed}|{request_key(body)}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def _kind(self, rng: random.Random, step: str) -> str | None:
        u, edge = rng.random(), 0.0
        for kind in APPLIES[step]:
            edge += self.rates.get(kind, 0.0)
            if u < edge:
                return kind
        return None

    def __call__(self, body: dict) -> str | Reply:
        reply = self.inner(body)
        if isinstance(reply, str):
            reply = Reply(content=reply)
        if reply.status != 200 or reply.raw is not None or reply.drop or not reply.content:
            return reply
        everything = prompt_text(body)
        step = request_kind(everything)
        language = self.inner.language_of(everything) if hasattr(self.inner, "language_of") else None
        if language not in MATERIAL["languages"]:
            return reply
        rng = self._draw(body)
        kind = self._kind(rng, step)
        if kind is None:
            return reply
        made = getattr(self, f"_{kind}")(rng, step, language, reply.content, body)
        if made is None:
            return reply
        content, markers, extra = made
        with self._lock:
            self.injections.append(Injection(kind, step, language, tuple(markers), kind == "truncation"))
        return Reply(content=content, **extra)

    # -- the slips: (rng, step, language, clean answer, request) -> (content, markers, Reply fields) ---------
    @staticmethod
    def _english_turn(rng, step, language, clean, body):
        text = rng.choice(MATERIAL["english"]["turns"])
        return text, [text], {}

    @staticmethod
    def _gloss(rng, step, language, clean, body):
        gloss = rng.choice(MATERIAL["english"]["glosses"])
        return f"{clean} ({gloss})", [gloss], {}

    @staticmethod
    def _label(rng, step, language, clean, body):
        label = rng.choice(MATERIAL["languages"][language]["labels"])
        return label + clean, [label.strip()], {}

    @staticmethod
    def _think(rng, step, language, clean, body):
        reasoning = rng.choice(MATERIAL["english"]["reasoning"])
        if rng.random() < 1 / 3:  # never closed: the budget ran out inside the reasoning
            return f"<think>\n{reasoning}", [reasoning, "<think>"], {"finish_reason": "length"}
        return f"<think>\n{reasoning}\n</think>\n\n{clean}", [reasoning, "<think>", "</think>"], {}

    @staticmethod
    def _boilerplate(rng, step, language, clean, body):
        source = MATERIAL["english"] if rng.random() < 0.5 else MATERIAL["languages"][language]
        line = rng.choice(source["boilerplate"][step])
        return line + rng.choice(("\n", " ")) + clean, [line], {}

    @staticmethod
    def _english_persona(rng, step, language, clean, body):
        sentences = rng.sample(MATERIAL["english"]["persona"], 5)
        return "\n".join(f"{i + 1}. {s}" for i, s in enumerate(sentences)), sentences, {}

    @staticmethod
    def _truncation(rng, step, language, clean, body):
        last_line = clean.rstrip().split("\n")[-1]
        head = clean[: len(clean.rstrip()) - len(last_line)]
        mark = _LIST_MARK.match(last_line)
        body_start = mark.end() if mark else 0
        starts = [
            m.end() for m in _SENTENCE_START.finditer(last_line) if body_start <= m.end() < len(last_line)
        ]
        sentence_start = max([body_start, *starts])
        # cut strictly inside the last sentence, between two letters (mid-word; anywhere for CJK)
        cuts = [
            i
            for i in range(sentence_start + 2, len(last_line) - 1)
            if last_line[i - 1].isalpha() and last_line[i].isalpha()
        ]
        if not cuts:
            return None
        cut = rng.choice(cuts)
        fragment = last_line[sentence_start:cut].strip()
        return head + last_line[:cut], [fragment], {"finish_reason": "length"}

    @staticmethod
    def _near_repeat(rng, step, language, clean, body):
        bank = set(BANK[language]["utterance"])
        earlier = [m["content"] for m in body.get("messages", [])[1:] if m.get("content") in bank]
        if not earlier:
            return None
        text = MATERIAL["languages"][language]["near_repeat_prefix"] + rng.choice(earlier)
        return text, [text], {}

    @staticmethod
    def _persona_twin(rng, step, language, clean, body):
        sentences = list(MATERIAL["languages"][language]["favorite_persona"])
        rng.shuffle(sentences)
        return "\n".join(f"{i + 1}. {s}" for i, s in enumerate(sentences)), [], {}

    @staticmethod
    def _preamble_common_ground(rng, step, language, clean, body):
        line = rng.choice(MATERIAL["languages"][language]["scene_preamble"])
        return f"{line} {clean}", [line], {}

    # -- the record -------------------------------------------------------------------------------
    def counts(self) -> Counter:
        return Counter(i.kind for i in self.injections)

    def found_in(self, text: str) -> list[Injection]:
        return [i for i in self.injections if i.found_in(text)]

    def dump(self, path: str | Path) -> None:
        """The record as JSON lines (``load_injections`` reads it back)."""
        with open(path, "w", encoding="utf-8") as fh:
            for inj in list(self.injections):
                fh.write(json.dumps(asdict(inj), ensure_ascii=False) + "\n")


def persona_twins(row: dict) -> bool:
    """Whether a row's persona B shares a sentence with its persona A."""
    return bool(set(row["persona_a"]) & set(row["persona_b"]))


def load_injections(path: str | Path) -> list[Injection]:
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            out.append(
                Injection(
                    data["kind"], data["step"], data["language"], tuple(data["markers"]), data["suffix"]
                )
            )
    return out
