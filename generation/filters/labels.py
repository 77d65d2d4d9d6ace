"""Speaker labels and assistant boilerplate, from data per language (``data/leakage_languages.yaml``).

English entries apply to every language; a language without an entry (one a user adds) gets English and the
generic rules: a designator alone ("B:", "**A:**"), a name (one or two capitalized words of a cased script,
or at most four letters of a caseless one) before a colon at the start of a turn or line.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

import regex

from generation.filters.config import DATA_DIR
from moud_core.errors import ConfigError
from moud_core.yamlio import load_yaml

LANGUAGES_PATH = DATA_DIR / "leakage_languages.yaml"
FIELDS = ("labels", "boilerplate", "preamble", "meta")
COLONS = (":", "：", "﹕", "︓")  # every label ends with one of these (the pre-check's needs)
_CHAR_SCRIPT = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]")
_SEPARATORS = regex.compile(r"[^\p{L}\p{N}\p{M}']+")
# what may wrap a label: markdown emphasis, brackets, quotes
_OPEN, _CLOSE = r"[\[(*_\"'«“「【]*", r"[\])*_\"'»”」】]*"
# an ASCII colon ends a label when a space, the end or a non-ASCII letter (CJK, Hangul) follows ("A:안녕")
_COLON = r"(?::(?=[\s*_\])\"'»”」】]|$|[^\x00-\x7f])|[：﹕︓])"
_DESIGNATOR = r"(?-i:[A-D1-4]|甲|乙)"
_SPACE = r"[^\S\n]"  # a space within a line (no-break spaces included)
_NAME = r"(?-i:\p{Lu}[\p{Ll}\p{M}'’-]{1,15}(?:[^\S\n]\p{Lu}[\p{Ll}\p{M}'’-]{1,15})?|[\p{Lo}\p{M}]{1,4})"
_SPEAKER_MENTION = regex.compile(r"(?<![\p{L}\p{N}])[AB](?!\p{Latin})")


def phrase_form(text: str) -> str:
    """NFKC, case-folded, every run of characters other than letters, digits, marks and apostrophes as one
    space, padded with a space at both ends: the form in which words and phrases are compared."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    return " " + " ".join(_SEPARATORS.sub(" ", text).split()) + " "


def _needle(phrase: str) -> str:
    """A phrase as searched for in ``phrase_form`` text: whole words, except around char-script letters."""
    core = phrase_form(phrase).strip()
    left = "" if _CHAR_SCRIPT.match(core[:1]) else " "
    right = "" if _CHAR_SCRIPT.match(core[-1:]) else " "
    return f"{left}{core}{right}"


@dataclass(frozen=True)
class LanguageLeakage:
    """The compiled rules of one language (with English)."""

    label_re: regex.Pattern
    boilerplate: tuple[str, ...]  # needles in phrase_form
    preamble: tuple[str, ...]
    meta: tuple[str, ...]

    def label(self, text: str) -> str | None:
        """The speaker label at the start of the text or of one of its lines, or None."""
        if not any(c in text for c in COLONS):
            return None
        m = self.label_re.search(text)
        return m.group(0).strip() if m else None

    def boilerplate_phrase(self, form: str) -> str | None:
        """The first boilerplate phrase found in ``form`` (a ``phrase_form``), or None."""
        return next((p.strip() for p in self.boilerplate if p in form), None)

    def preamble_clause(self, text: str) -> str | None:
        """The opening clause up to a colon when it reads as an assistant preamble ("Voici la réponse de
        B :"): a ``meta`` word and a ``preamble`` word or a speaker designator. Else None."""
        cut = min((i for i in (text.find(c, 0, 160) for c in COLONS) if i > 0), default=-1)
        if cut < 0:
            return None
        clause = text[:cut]
        form = phrase_form(clause)
        if not any(w in form for w in self.meta):
            return None
        if any(w in form for w in self.preamble) or _SPEAKER_MENTION.search(clause):
            return clause.strip() + text[cut]
        return None

    def any_phrase(self, form: str) -> bool:
        """Whether ``form`` (joined turns) may hold boilerplate or a preamble clause (a pre-check)."""
        return any(p in form for p in self.boilerplate) or any(w in form for w in self.meta)


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
    needles = tuple(dict.fromkeys(_needle(p) for p in words("boilerplate")))
    return LanguageLeakage(
        regex.compile(pattern, regex.IGNORECASE | regex.MULTILINE),
        needles,
        tuple(dict.fromkeys(_needle(p) for p in words("preamble"))),
        tuple(dict.fromkeys(_needle(p) for p in words("meta"))),
    )
