"""Realistic corruptions of a clean dialogue row, one per class, as small instruction models produce them:
an English turn, an English gloss after a turn, a turn in another language of the same or of another
script (short CJK sentences included), a speaker label in the target language or in English, a near or
verbatim loop of earlier turns, an English persona sentence, assistant boilerplate, a romanized turn.

``Corruptor(texts).make(kind, row, rng)`` returns a ``Corruption`` (the corrupted row copy, the fields a
correct drop names, the gates that should drop it) or None when the class does not apply to the language.
The hand-written strings (labels, boilerplate, interjections, gloss wrappers) are in
``data/probe_corruptions.yaml``; the English and other-language text comes from the caller (XPersona).
"""

from __future__ import annotations

import copy
import functools
import random
import re
from dataclasses import dataclass
from pathlib import Path

from moud_core.text import tokenize
from moud_core.yamlio import load_yaml

LANGUAGE_GATES = frozenset({"lid", "script"})
CLASSES: dict[str, frozenset[str]] = {  # class -> the gates that should name it
    "english_turn": LANGUAGE_GATES,
    "gloss": LANGUAGE_GATES,
    "same_script": LANGUAGE_GATES,
    "other_script": LANGUAGE_GATES,
    "localized_label": frozenset({"leakage"}),
    "english_label": frozenset({"leakage"}),
    "near_loop": frozenset({"repetition"}),
    "verbatim_loop": frozenset({"repetition"}),
    "english_persona": LANGUAGE_GATES,
    "boilerplate": frozenset({"leakage"}),
    "romanized": LANGUAGE_GATES,
}
# Languages of the same script family (another language in the same script) and of another one.
SAME_SCRIPT = {"fr": ("it", "id"), "it": ("fr", "id"), "id": ("fr", "it")}
OTHER_SCRIPT = {
    "fr": ("zh", "ja", "ko"),
    "it": ("zh", "ja", "ko"),
    "id": ("zh", "ja", "ko"),
    "ja": ("zh", "ko"),
    "ko": ("zh", "ja"),
    "zh": ("ja", "ko"),
}
SHORT_CJK = (7, 14)  # characters of the short CJK sentences (half of the other-script probes)


@functools.lru_cache(maxsize=1)
def corruption_strings() -> dict:
    return load_yaml(Path(__file__).with_name("probe_corruptions.yaml"))


_DETOK = [
    (re.compile(r" ([.,!?;:%)])"), r"\1"),
    (re.compile(r"\( "), "("),
    (re.compile(r" (['’](?:s|m|re|ve|ll|d|t)\b)"), r"\1"),
    (re.compile(r" n't\b"), "n't"),
    (re.compile(r"\bi\b"), "I"),
]


def english_sentence(text: str) -> str:
    """XPersona English ("i 'm good . you ?") as a model writes it ("I'm good. You?")."""
    text = " ".join(text.split())
    for pattern, repl in _DETOK:
        text = pattern.sub(repl, text)
    return text[:1].upper() + text[1:]


@dataclass
class Corruption:
    row: dict
    fields: frozenset[str]  # a correct drop names one of these
    gates: frozenset[str]  # ... and is made by one of these


@dataclass
class Texts:
    """Text to corrupt with: English utterances and persona sentences, and utterances per language."""

    english: list[str]
    english_persona: list[str]
    utterances: dict[str, list[str]]  # code -> utterances (at least 20 characters)
    short: dict[str, list[str]]  # code -> CJK utterances of SHORT_CJK characters


class Corruptor:
    def __init__(self, texts: Texts):
        self.texts = texts
        self.strings = corruption_strings()

    def applies(self, kind: str, code: str) -> bool:
        if kind == "same_script":
            return bool([c for c in SAME_SCRIPT.get(code, ()) if self.texts.utterances.get(c)])
        if kind == "other_script":
            return bool([c for c in OTHER_SCRIPT.get(code, ()) if self.texts.utterances.get(c)])
        if kind == "romanized":
            return code in ("ja", "ko", "zh")
        if kind in ("localized_label", "near_loop"):
            return code in self.strings["labels"]
        return kind in CLASSES

    def make(self, kind: str, row: dict, rng: random.Random) -> Corruption | None:
        code = row["language"]
        if kind not in CLASSES or not self.applies(kind, code):
            return None
        new = copy.deepcopy(row)
        new["id"] = f"{row['id']}-{kind}"
        turns = new["turns"]
        i = rng.randrange(len(turns))
        where = frozenset({f"turns[{i}]"})
        text = turns[i]["text"]
        s = self.strings
        if kind == "english_turn":
            turns[i]["text"] = english_sentence(rng.choice(self.texts.english))
        elif kind == "gloss":
            turns[i]["text"] = text.rstrip() + rng.choice(s["gloss_forms"]).format(
                self._gloss(text, code, rng)
            )
        elif kind == "same_script":
            turns[i]["text"] = rng.choice(self.texts.utterances[rng.choice(self._sources(SAME_SCRIPT, code))])
        elif kind == "other_script":
            source = rng.choice(self._sources(OTHER_SCRIPT, code))
            pool = self.texts.short.get(source) if rng.random() < 0.5 else None
            turns[i]["text"] = rng.choice(pool or self.texts.utterances[source])
        elif kind in ("localized_label", "english_label"):
            labels = s["labels"][code] if kind == "localized_label" else s["english_labels"]
            turns[i]["text"] = rng.choice(labels) + text.lstrip()
        elif kind == "boilerplate":
            lang = "en" if rng.random() < 0.5 or code not in s["boilerplate"] else code
            turns[i]["text"] = rng.choice(s["boilerplate"][lang]) + rng.choice([" ", "\n"]) + text.lstrip()
        elif kind in ("near_loop", "verbatim_loop"):
            if len(turns) < 6:
                return None
            where = self._loop(turns, code, rng, kind == "near_loop")
        elif kind == "english_persona":
            k = rng.randrange(len(new["persona_a"]))
            new["persona_a"][k] = english_sentence(rng.choice(self.texts.english_persona))
            where = frozenset({f"persona_a[{k}]"})
        elif kind == "romanized":
            turns[i]["text"] = romanize(text, code, rng)
        return Corruption(new, where, CLASSES[kind])

    def _sources(self, table: dict, code: str) -> list[str]:
        return [c for c in table.get(code, ()) if self.texts.utterances.get(c)]

    def _gloss(self, text: str, code: str, rng: random.Random) -> str:
        """An English sentence about as long as a translation of ``text`` would be."""
        factor = {"ja": 2.5, "zh": 3.0, "ko": 1.8}.get(code, 1.0)
        target = max(12, len(text) * factor)
        sample = rng.sample(self.texts.english, min(30, len(self.texts.english)))
        return english_sentence(min(sample, key=lambda u: abs(len(u) - target)))

    def _loop(self, turns: list[dict], code: str, rng: random.Random, prefixed: bool) -> frozenset[str]:
        """The last four turns repeat two earlier consecutive turns (by the same speakers) twice, each with
        an interjection in front when ``prefixed``; returns the fields of the four."""
        n = len(turns)
        starts = [j for j in range(n - 5) if (j - (n - 4)) % 2 == 0]
        good = [j for j in starts if min(len(tokenize(turns[j + d]["text"])) for d in (0, 1)) >= 4]
        j = rng.choice(good or starts)
        pair = [turns[j]["text"], turns[j + 1]["text"]]
        for d in range(4):
            prefix = rng.choice(self.strings["interjections"][code]) if prefixed else ""
            turns[n - 4 + d]["text"] = prefix + _decapitalize(pair[d % 2], prefixed)
        return frozenset(f"turns[{n - 4 + d}]" for d in range(4))


def _decapitalize(text: str, prefixed: bool) -> str:
    """``text`` after an interjection: its first letter lowercased (Latin "Ah, oui" rather than "Ah, Oui")."""
    return text[:1].lower() + text[1:] if prefixed and text[:1].isupper() and text[1:2].islower() else text


# --- romanization -------------------------------------------------------------------------------------
_L = ["g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h"]
_V = [
    "a",
    "ae",
    "ya",
    "yae",
    "eo",
    "e",
    "yeo",
    "ye",
    "o",
    "wa",
    "wae",
    "oe",
    "yo",
    "u",
    "wo",
    "we",
    "wi",
    "yu",
    "eu",
    "ui",
    "i",
]
_T = [
    "",
    "k",
    "k",
    "k",
    "n",
    "n",
    "n",
    "t",
    "l",
    "k",
    "m",
    "l",
    "l",
    "l",
    "p",
    "l",
    "m",
    "p",
    "p",
    "t",
    "t",
    "ng",
    "t",
    "t",
    "k",
    "t",
    "p",
    "t",
]


def romanize_hangul(text: str) -> str:
    """Revised-Romanization-style transliteration of Hangul syllables (no sound-change rules)."""
    out = []
    for ch in text:
        code = ord(ch) - 0xAC00
        if 0 <= code < 11172:
            out.append(_L[code // 588] + _V[(code % 588) // 28] + _T[code % 28])
        else:
            out.append(ch)
    return "".join(out)


# Hand-written romanized conversational sentences (what an LLM produces when it slips into romaji/pinyin).
ROMANIZED = {
    "ja": [
        "konnichiwa, kyou wa ii tenki desu ne.",
        "watashi wa inu wo nihiki katte imasu.",
        "shumatsu wa itsumo nani wo shite imasu ka?",
        "sushi ga daisuki desu, anata wa?",
        "ashita tomodachi to eiga wo mi ni ikimasu.",
        "shigoto wa totemo isogashii desu kedo tanoshii desu.",
        "kinou wa ame datta node ie de hon wo yomimashita.",
        "nihon no ongaku wo yoku kikimasu ka?",
    ],
    "zh": [
        "ni hao, jintian tianqi zhen hao a.",
        "wo you liang zhi gou, tamen hen ke'ai.",
        "ni zhoumo yiban zuo shenme?",
        "wo zui xihuan chi jiaozi, ni ne?",
        "mingtian wo yao he pengyou qu kan dianying.",
        "wo de gongzuo hen mang, dan shi hen you yisi.",
        "zuotian xia yu le, suoyi wo zai jia kan shu.",
        "ni xihuan ting zhongguo yinyue ma?",
    ],
}


def romanize(text: str, code: str, rng: random.Random) -> str:
    """A romanized turn: Hangul transliterated; romaji/pinyin sentences for ja/zh."""
    if code == "ko":
        return romanize_hangul(text)
    return rng.choice(ROMANIZED[code])
