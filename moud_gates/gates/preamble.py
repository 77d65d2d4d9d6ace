"""Assistant preambles composed from per-language data (``data/preambles.yaml``): at the start of a text or
of a line, acknowledgements ("sure", "bien sûr", "好的"), a presentation ("here is", "voici", "以下是") and,
a few words on, what is presented ("the scene", "la situation", "场景"). The leakage gate asks for the
acknowledgement in turns; in persona sentences and the common ground a presentation and a noun suffice, and
a copula ("this is", "c'est") after an acknowledgement counts as a presentation."""

from __future__ import annotations

import functools
from typing import NamedTuple

import regex

from moud_core.errors import ConfigError
from moud_core.text import tokenize
from moud_core.yamlio import load_yaml
from moud_gates.data_dir import DATA_DIR
from moud_gates.gates.labels import Needles, _plain, phrase_form
from moud_gates.gates.meta_remarks import meta_rule

PREAMBLES_PATH = DATA_DIR / "preambles.yaml"
FIELDS = ("ack", "present", "copula", "nouns")


@functools.lru_cache(maxsize=1)
def preamble_data() -> dict:
    data = load_yaml(PREAMBLES_PATH)
    if not isinstance(data, dict) or "en" not in data:
        raise ConfigError(f"{PREAMBLES_PATH}: expected a mapping of language code -> ack, present, nouns")
    gap, window = data.get("gap"), data.get("window")
    if not (isinstance(gap, dict) and all(isinstance(gap.get(k), int) for k in ("words", "chars"))):
        raise ConfigError(f"{PREAMBLES_PATH}: gap: expected {{words: N, chars: N}}")
    if not isinstance(window, int) or window < 1:
        raise ConfigError(f"{PREAMBLES_PATH}: window: expected a positive number of tokens")
    for code, entry in data.items():
        if code in ("gap", "window"):
            continue
        if not isinstance(entry, dict) or set(entry) != set(FIELDS):
            raise ConfigError(f"{PREAMBLES_PATH}: {code}: expected a mapping with keys {', '.join(FIELDS)}")
        for key, words in entry.items():
            if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
                raise ConfigError(f"{PREAMBLES_PATH}: {code}.{key}: expected a list of non-empty strings")
    return data


def _form(tokens: list[str]) -> str:
    """``phrase_form`` with a dotted capital I's fold ("İşte" -> "i̇şte") read as a plain i."""
    return phrase_form(tokens).replace("i\u0307", "i")


def _alternatives(phrases: list[str]) -> str:
    forms = {_form(tokenize(p.replace("’", "'"))).strip() for p in phrases}
    return "|".join(regex.escape(f) for f in sorted(forms - {""}, key=len, reverse=True))


class OpeningRule(NamedTuple):
    present: Needles  # pre-check: a text holds every token of some presentation phrase or copula
    with_ack: regex.Pattern  # turns
    bare: regex.Pattern  # persona sentences and the common ground
    window: int
    segmentation: str

    def find(self, text: str, tokens: list[str], bare: bool) -> str | None:
        """The preamble opening ``text`` or one of its lines (acknowledgement required unless ``bare``), or
        None. ``tokens``: ``tokenize(text, segmentation)``, for the pre-check."""
        if not self.present.candidates({_plain(t).replace("i\u0307", "i") for t in tokens}):
            return None
        pattern = self.bare if bare else self.with_ack
        for line in text.split("\n") if "\n" in text else (text,):
            line_tokens = tokenize(line, self.segmentation)[: self.window] if "\n" in text else tokens
            m = pattern.match(_form(line_tokens[: self.window]))
            if m:
                return m.group(0).strip()
        return None


@functools.cache
def opening_rule(code: str, segmentation: str) -> OpeningRule:
    """English plus ``code``'s preamble material, compiled."""
    data = preamble_data()
    entries = [data["en"]] + ([data[code]] if code in data and code != "en" else [])
    ack, present, copula, nouns = (_alternatives([w for e in entries for w in e[key]]) for key in FIELDS)
    gap = data["gap"]["chars" if segmentation == "chars" else "words"]
    noun = rf" (?:\S+ ){{0,{gap}}}?(?:{nouns}) "
    acks = rf"(?:(?:{ack}) )+(?:\S+ )?"
    return OpeningRule(
        Needles(w for e in entries for w in e["present"] + e["copula"]),
        regex.compile(rf"^ {acks}(?:{present}){noun}"),
        regex.compile(rf"^ (?:{acks}(?:{present}|{copula})|(?:\S+ )?(?:{present})){noun}"),
        data["window"],
        segmentation,
    )


def opening_remark(text: str, tokens: list[str], code: str, segmentation: str, bare: bool):
    """(kind, match) of an assistant preamble opening ``text`` or one of its lines ("assistant_preamble";
    the acknowledgement is required unless ``bare``: persona sentences and the common ground) or of a remark
    about the language or the task ("meta_remark", ``meta_remarks.py``), else None."""
    found = opening_rule(code, segmentation).find(text, tokens, bare)
    if found is not None:
        return "assistant_preamble", found
    found = meta_rule(code, segmentation).find(tokens)
    return None if found is None else ("meta_remark", found)


def opening_possible(tokens: set[str], code: str, segmentation: str) -> bool:
    """Whether texts whose tokens are all in ``tokens`` (a dialogue's turns) may hold a preamble or a
    meta-remark (a pre-check: each needs every token of a presentation phrase or of a task noun)."""
    plain = {_plain(t).replace("i\u0307", "i") for t in tokens}
    return bool(
        opening_rule(code, segmentation).present.candidates(plain)
        or meta_rule(code, segmentation).nouns.candidates(tokens)
    )
