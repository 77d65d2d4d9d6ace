"""Speaker labels and assistant boilerplate, from data per language (``data/leakage_languages.yaml``).

English entries apply to every language; a language without an entry (one a user adds) gets English and the
generic rules: a designator alone ("B:", "**A:**"), a name (one or two capitalized words of a cased script,
or at most four letters of a caseless one) before a colon at the start of a turn or line.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import regex

from generation.filters.config import DATA_DIR
from moud_core.errors import ConfigError
from moud_core.text import tokenize
from moud_core.yamlio import load_yaml

LANGUAGES_PATH = DATA_DIR / "leakage_languages.yaml"
FIELDS = ("labels", "boilerplate", "preamble", "meta")
COLONS = (":", "：", "﹕", "︓")  # every label ends with one of these (the pre-check's needs)
has_colon = re.compile("[" + "".join(COLONS) + "]").search
# what may wrap a label: markdown emphasis, brackets, quotes
_OPEN, _CLOSE = r"[\[(*_\"'«“「【]*", r"[\])*_\"'»”」】]*"
# an ASCII colon ends a label when a space, the end or a non-ASCII letter (CJK, Hangul) follows ("A:안녕")
_COLON = r"(?::(?=[\s*_\])\"'»”」】]|$|[^\x00-\x7f])|[：﹕︓])"
_DESIGNATOR = r"(?-i:[A-D1-4]|甲|乙)"
_SPACE = r"[^\S\n]"  # a space within a line (no-break spaces included)
_NAME = r"(?-i:\p{Lu}[\p{Ll}\p{M}'’-]{1,15}(?:[^\S\n]\p{Lu}[\p{Ll}\p{M}'’-]{1,15})?|[\p{Lo}\p{M}]{1,4})"
_SPEAKER_MENTION = regex.compile(r"(?<![\p{L}\p{N}])[AB](?!\p{Latin})")


def phrase_form(tokens: list[str]) -> str:
    """Tokens (``moud_core.text.tokenize``: NFKC, case-folded, words, characters for Han/kana/Thai) joined by
    spaces and padded with a space at both ends: the form in which phrases are compared, whole tokens only."""
    return " " + " ".join(tokens).replace("’", "'") + " "


class Needles:
    """Phrases in ``phrase_form``, looked up by their first token (a text can only hold a phrase whose first
    token it has)."""

    def __init__(self, phrases):
        self.by_first: dict[str, list[str]] = {}
        for phrase in phrases:
            tokens = tokenize(phrase.replace("’", "'"))
            if tokens:
                needle = phrase_form(tokens)
                group = self.by_first.setdefault(tokens[0].replace("’", "'"), [])
                if needle not in group:
                    group.append(needle)

    def find(self, form: str | list[str], tokens: set[str]) -> str | None:
        """The first phrase found in ``form`` (the phrase_form of a text whose token set is ``tokens``; or
        the text's tokens, joined only when a phrase's first token is among them)."""
        firsts = tokens & self.by_first.keys()
        if not firsts:
            return None
        if isinstance(form, list):
            form = phrase_form(form)
        for first in firsts:
            for needle in self.by_first[first]:
                if needle in form:
                    return needle.strip()
        return None


def _token_set(tokens: list[str]) -> set[str]:
    return {t.replace("’", "'") for t in tokens}


@dataclass(frozen=True)
class LanguageLeakage:
    """The compiled rules of one language (with English)."""

    label_re: regex.Pattern
    boilerplate: Needles
    preamble: Needles
    meta: Needles

    def label(self, text: str) -> str | None:
        """The speaker label at the start of the text or of one of its lines, or None."""
        if not has_colon(text):
            return None
        m = self.label_re.search(text)
        return m.group(0).strip() if m else None

    def boilerplate_phrase(self, tokens: list[str]) -> str | None:
        """The first boilerplate phrase found in a text with these tokens, or None."""
        return self.boilerplate.find(tokens, _token_set(tokens))

    def preamble_clause(self, text: str) -> str | None:
        """The opening clause up to a colon when it reads as an assistant preamble ("Voici la réponse de
        B :"): a ``meta`` word and a ``preamble`` word or a speaker designator. Else None."""
        cut = min((i for i in (text.find(c, 0, 160) for c in COLONS) if i > 0), default=-1)
        if cut < 0:
            return None
        clause = text[:cut]
        tokens = tokenize(clause)
        form, token_set = phrase_form(tokens), _token_set(tokens)
        if self.meta.find(form, token_set) is None:
            return None
        if self.preamble.find(form, token_set) is not None or _SPEAKER_MENTION.search(clause):
            return clause.strip() + text[cut]
        return None

    def any_phrase(self, tokens: list[str]) -> bool:
        """Whether a text with these tokens (all the turns of a dialogue) may hold boilerplate or a preamble
        clause (a pre-check: a turn can only hold a phrase whose tokens the whole dialogue holds)."""
        token_set = _token_set(tokens)
        return (
            self.boilerplate.find(tokens, token_set) is not None
            or self.meta.find(tokens, token_set) is not None
        )


@functools.lru_cache(maxsize=1)
def leakage_languages() -> dict[str, dict[str, list[str]]]:
    data = load_yaml(LANGUAGES_PATH)
    if not isinstance(data, dict) or "en" not in data:
        raise ConfigError(
            f"{LANGUAGES_PATH}: expected a mapping of language code -> {', '.join(FIELDS)} (with en)"
        )
    for code, entry in data.items():
        if not isinstance(entry, dict) or set(entry) - set(FIELDS):
            raise ConfigError(
                f"{LANGUAGES_PATH}: {code}: expected a mapping with keys from {', '.join(FIELDS)}"
            )
        for key, words in entry.items():
            if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
                raise ConfigError(f"{LANGUAGES_PATH}: {code}.{key}: expected a list of non-empty strings")
    return data


@functools.cache
def language_leakage(code: str) -> LanguageLeakage:
    """English plus ``code``'s rules (English and the generic rules only when the file has no entry)."""
    data = leakage_languages()
    entries = [data["en"]] + ([data[code]] if code in data and code != "en" else [])

    def words(key: str) -> list[str]:
        return list(dict.fromkeys(w for e in entries for w in e.get(key, [])))

    label_words = sorted(words("labels"), key=len, reverse=True)
    spoken = "|".join(rf"{_SPACE}*".join(regex.escape(part) for part in w.split()) for w in label_words)
    words_part = rf"(?:{spoken})(?:{_SPACE}*{_DESIGNATOR})?|" if spoken else ""
    label = rf"(?:{words_part}{_NAME}(?:{_SPACE}+(?-i:[AB12]))?|(?-i:[AB]))"
    pattern = rf"^{_SPACE}*{_OPEN}{_SPACE}*{label}{_SPACE}*{_CLOSE}{_SPACE}*{_COLON}"
    return LanguageLeakage(
        regex.compile(pattern, regex.IGNORECASE | regex.MULTILINE),
        Needles(words("boilerplate")),
        Needles(words("preamble")),
        Needles(words("meta")),
    )
