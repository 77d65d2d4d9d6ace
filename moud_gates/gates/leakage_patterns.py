"""The leakage gate's patterns (``data/leakage.yaml``): stage directions, markdown and English prompt phrases
compiled once, with the cheap substring pre-checks that decide whether a text needs the regexes at all."""

from __future__ import annotations

import functools
import re

import regex

from moud_core.errors import ConfigError
from moud_core.yamlio import load_yaml
from moud_gates.data_dir import DATA_DIR

LEAKAGE_PATH = DATA_DIR / "leakage.yaml"


@functools.lru_cache(maxsize=1)
def leakage_rules() -> tuple[regex.Pattern | None, regex.Pattern | None]:
    data = load_yaml(LEAKAGE_PATH)
    rules = []
    for i, entry in enumerate(data.get("patterns") or []):
        try:
            rules.append((entry["name"], regex.compile(entry["pattern"], regex.IGNORECASE | regex.MULTILINE)))
        except (KeyError, TypeError):
            raise ConfigError(
                f"{LEAKAGE_PATH}: patterns[{i}]: expected a mapping with 'name' and 'pattern'"
            ) from None
        except regex.error as exc:
            raise ConfigError(f"{LEAKAGE_PATH}: patterns[{i}].pattern: invalid regex ({exc})") from None
    # one combined pattern (named groups) so each turn is scanned once
    combined = (
        regex.compile(
            "|".join(f"(?P<{name}>{pat.pattern})" for name, pat in rules), regex.IGNORECASE | regex.MULTILINE
        )
        if rules
        else None
    )
    phrases = [p for p in data.get("english_prompt_phrases") or [] if p]
    phrase_re = None
    if phrases:
        phrase_re = regex.compile(
            r"\b(?:" + "|".join(regex.escape(p) for p in phrases) + r")\b", regex.IGNORECASE
        )
    return combined, phrase_re


# Characters that `regex` (simple case folding) matches case-insensitively with an ASCII letter besides its
# two cases: İ (i), ı (i), ſ (s), Kelvin sign (k). ``fold`` maps them to the letter, then lowercases.
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def fold(text: str) -> str:
    # str.replace per character: far faster than str.translate with a mapping
    return (
        text.replace("\u0130", "i")
        .replace("\u0131", "i")
        .replace("\u017f", "s")
        .replace("\u212a", "k")
        .lower()
    )


@functools.lru_cache(maxsize=1)
def pattern_needs() -> tuple[re.Pattern | None, tuple[str, ...]] | None:
    """The patterns' ``needs``: (a ``re`` class of the one-character needs, the longer needs lowercased), or
    None when some pattern has no ``needs`` (then every turn is scanned). See ``needs_found``."""
    chars, words = [], []
    for i, entry in enumerate(load_yaml(LEAKAGE_PATH).get("patterns") or []):
        got = entry.get("needs") if isinstance(entry, dict) else None
        if not got:
            return None
        if not isinstance(got, list) or not all(isinstance(x, str) and x for x in got):
            raise ConfigError(f"{LEAKAGE_PATH}: patterns[{i}].needs: expected a list of non-empty strings")
        for x in got:
            (chars if len(x) == 1 and x.upper() == x.lower() else words).append(
                fold(x)
            )  # caseless symbol or not
    char_re = re.compile("[" + "".join(re.escape(c) for c in dict.fromkeys(chars)) + "]") if chars else None
    return char_re, tuple(dict.fromkeys(words))


def needs_found(text: str, needs: tuple[re.Pattern | None, tuple[str, ...]]) -> bool:
    """Whether ``text`` contains one of the ``needs`` case-insensitively.

    Sound for the combined pattern: every case variant that `regex` matches for a needed character is
    mapped to the character itself by ``fold`` (one-character needs are caseless symbols; both facts are
    checked for every codepoint in tests/moud_gates/test_fastpaths.py), so a turn in which the
    combined pattern matches always passes this check."""
    char_re, words = needs
    if char_re is not None and char_re.search(text):
        return True
    if not words:
        return False
    folded = fold(text)
    return any(w in folded for w in words)


def present_needs(text: str, needs: tuple[re.Pattern | None, tuple[str, ...]]):
    """The part of ``needs`` that ``text`` contains (same form), or None when it contains none. A piece of
    ``text`` (a turn of a dialogue) can only contain needs from this part."""
    char_re, words = needs
    chars = char_re if char_re is not None and char_re.search(text) else None
    folded = fold(text)
    found = tuple(w for w in words if w in folded)
    return (chars, found) if chars is not None or found else None


_PLAIN_PHRASE = regex.compile(r"[a-z0-9 '-]+")


@functools.lru_cache(maxsize=1)
def phrase_literals() -> tuple[str, ...] | None:
    """The English prompt phrases as plain substrings, a cheap pre-check before the phrase regex, or None.

    Sound because the regex runs on ``normalize()``d (case-folded) text, in which a case-insensitive match
    of a lowercase ASCII phrase can only be the phrase itself (the other case variants of ASCII letters,
    such as "K" or U+212A KELVIN SIGN, are case-folded away; tests/moud_gates/test_fastpaths.py
    checks it). Only used when every phrase is plain lowercase ASCII."""
    phrases = [p for p in load_yaml(LEAKAGE_PATH).get("english_prompt_phrases") or [] if p]
    literals = tuple(p.lower() for p in phrases)
    return literals if all(_PLAIN_PHRASE.fullmatch(p) for p in literals) else None
