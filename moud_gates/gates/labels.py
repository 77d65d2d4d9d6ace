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

from moud_core.errors import ConfigError
from moud_core.text import tokenize
from moud_core.yamlio import load_yaml
from moud_gates.data_dir import DATA_DIR

LANGUAGES_PATH = DATA_DIR / "leakage_languages.yaml"
FIELDS = ("labels", "boilerplate", "preamble", "meta")
COLONS = (":", "：", "﹕", "︓")  # every label ends with one of these (the pre-check's needs)
has_colon = re.compile("[" + "".join(COLONS) + "]").search
# what may wrap a label: markdown emphasis, brackets, quotes
_OPEN, _CLOSE = r"[\[(*_\"'«“「【]*", r"[\])*_\"'»”」】]*"
# an ASCII colon ends a label when a space, the end or a non-ASCII letter (CJK, Hangul) follows ("A:안녕")
_COLON = r"(?::(?=[\s*_\])\"'»”」】]|$|[^\x00-\x7f])|[：﹕︓])"
# A/B/1/2, or any single letter of another alphabet ("الشخص أ", "Собеседник Б", "화자 가"): a letter alone
_DESIGNATOR = r"(?-i:[A-D1-4]|甲|乙|\p{L}(?![\p{L}\p{M}]))"
# optional vowel signs of abjads (Arabic harakat, Hebrew niqqud): "ردّي" and "ردي" are the same word
_OPTIONAL_MARKS = re.compile("[\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
SHORT_OPENING = 8  # tokens: an opening clause this short that names the conversation is an assistant preamble
STEM_MIN = 4  # meta words this long also match as the start of a word ("yanıt" in "yanıtım")
_SPACE = r"[^\S\n]"  # a space within a line (no-break spaces included)
_NAME = r"(?-i:\p{Lu}[\p{Ll}\p{M}'’-]{1,15}(?:[^\S\n]\p{Lu}[\p{Ll}\p{M}'’-]{1,15})?|[\p{Lo}\p{M}]{1,4})"
_SPEAKER_MENTION = regex.compile(r"(?<![\p{L}\p{N}])[AB](?!\p{Latin})")


def _plain(token: str) -> str:
    """A token as phrases compare it: one apostrophe, no optional vowel signs."""
    token = token.replace("’", "'")
    return _OPTIONAL_MARKS.sub("", token) if token > "\u0590" else token


def phrase_form(tokens: list[str]) -> str:
    """Tokens (``moud_core.text.tokenize``: NFKC, case-folded, words, characters for Han/kana/Thai) joined by
    spaces and padded with a space at both ends: the form in which phrases are compared, whole tokens only."""
    return " " + " ".join(map(_plain, tokens)) + " "


class Needles:
    """Phrases in ``phrase_form``. A text can only hold a phrase whose tokens it all has: phrases are looked
    up by their longest token (the least common, as a rule), then their token sets, then the text."""

    def __init__(self, phrases):
        self.by_key: dict[str, list[tuple[str, frozenset]]] = {}
        for phrase in phrases:
            tokens = [_plain(t) for t in tokenize(phrase.replace("’", "'"))]
            if tokens:
                entry = (phrase_form(tokens), frozenset(tokens))
                group = self.by_key.setdefault(max(reversed(tokens), key=len), [])
                if entry not in group:
                    group.append(entry)

    def candidates(self, tokens: set[str]) -> list[str]:
        """The phrases all of whose tokens are in ``tokens``."""
        return [
            needle
            for key in tokens & self.by_key.keys()
            for needle, need in self.by_key[key]
            if need <= tokens
        ]

    def find(self, form: str | list[str], tokens: set[str]) -> str | None:
        """The phrase found first in ``form`` (the phrase_form of a text whose token set is ``tokens``; or
        the text's tokens, joined only when some phrase has all its tokens among them); of two starting at
        the same place, the longer. The same answer in every process (never set iteration order)."""
        found = self.candidates(tokens)
        if not found:
            return None
        if isinstance(form, list):
            form = phrase_form(form)
        hits = [(form.find(needle), -len(needle), needle) for needle in found if needle in form]
        return min(hits)[2].strip() if hits else None


def _token_set(tokens: list[str]) -> set[str]:
    return {_plain(t) for t in tokens}


@dataclass(frozen=True)
class LanguageLeakage:
    """The compiled rules of one language (with English)."""

    label_re: regex.Pattern
    boilerplate: Needles
    preamble: Needles
    meta: Needles
    meta_stems: tuple[str, ...]

    def label(self, text: str) -> str | None:
        """The speaker label at the start of the text or of one of its lines, or None."""
        if not has_colon(text):
            return None
        m = self.label_re.search(text)
        return m.group(0).strip() if m else None

    def boilerplate_phrase(self, tokens: list[str]) -> str | None:
        """The first boilerplate phrase found in a text with these tokens, or None."""
        return self.boilerplate.find(tokens, _token_set(tokens))

    def preamble_clause(self, text: str, short_opening: bool = False) -> str | None:
        """The opening clause up to a colon when it reads as an assistant preamble: a ``meta`` word and a
        ``preamble`` word or a speaker designator ("Voici la réponse de B :", "Esta es mi respuesta:").
        With ``short_opening`` (while generating) any short opening clause naming the conversation
        ("Ma réponse :")."""
        cut = min((i for i in (text.find(c, 0, 160) for c in COLONS) if i > 0), default=-1)
        if cut < 0:
            return None
        clause = text[:cut]
        tokens = tokenize(clause)
        form, token_set = phrase_form(tokens), _token_set(tokens)
        short = short_opening and len(tokens) <= SHORT_OPENING
        if self.meta.find(form, token_set) is None and not (short and self._meta_stem(token_set)):
            return None
        if short or self.preamble.find(form, token_set) is not None or _SPEAKER_MENTION.search(clause):
            return clause.strip() + text[cut]
        return None

    def _meta_stem(self, tokens: set[str]) -> bool:
        """Whether a token starts with a meta word of at least STEM_MIN letters (agglutinated forms)."""
        return any(token.startswith(stem) for token in tokens for stem in self.meta_stems)

    def any_phrase(self, tokens: set[str]) -> bool:
        """Whether a text with this token set (all the turns of a dialogue) may hold boilerplate or a preamble
        clause: it has all the tokens of a boilerplate phrase or of a meta word (a pre-check: a turn can only
        hold a phrase whose tokens the whole dialogue holds)."""
        if any("’" in t for t in tokens):
            tokens = _token_set(list(tokens))
        return bool(self.boilerplate.candidates(tokens) or self.meta.candidates(tokens))


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
        tuple(_plain(w) for w in words("meta") if " " not in w and len(w) >= STEM_MIN),
    )
