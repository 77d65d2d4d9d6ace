"""Lexicon gate: the words of a text must be words of its language. A text fails when enough of its longer
words (at least ``min_letters`` letters, no digits; elided parts such as "l'" set apart) are in neither the
language's nor the English `wordfreq` list: invented words that only look like the language, which language ID
scores as the language. Word lists and the languages without one: data/lexicon.yaml."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from moud_core.errors import ConfigError
from moud_core.typed_config import at_least, between
from moud_core.yamlio import load_yaml
from moud_gates.base import Drop, Gate, GateContext, TextItem, clip, register
from moud_gates.data_dir import DATA_DIR

LEXICON_PATH = DATA_DIR / "lexicon.yaml"


@functools.lru_cache(maxsize=1)
def lexicon_data() -> dict:
    data = load_yaml(LEXICON_PATH)
    if not isinstance(data, dict) or not isinstance(data.get("wordlists"), dict) or not data.get("english"):
        raise ConfigError(f"{LEXICON_PATH}: expected 'wordlists' (code -> wordfreq language), 'english'")
    if not isinstance(data.get("uncovered", {}), dict):
        raise ConfigError(f"{LEXICON_PATH}: uncovered: expected a mapping of code -> what the language gets")
    return data


@functools.cache
def wordlist(name: str) -> frozenset | dict:
    """The words of wordfreq's "best" list for ``name`` (a wordfreq language code)."""
    import wordfreq

    return wordfreq.get_frequency_dict(name, "best")


def known_words(code: str) -> tuple | None:
    """(the language's list, the English list), or None when the language has no list."""
    data = lexicon_data()
    name = data["wordlists"].get(code)
    if name is None:
        return None
    return wordlist(name), wordlist(data["english"])


@functools.cache
def label_words(label: str):
    """wordfreq's list for a language-ID label ("pt", "en"), or None when wordfreq has none."""
    import wordfreq

    return wordlist(label) if label in wordfreq.available_languages() else None


def long_words(tokens: list[str], min_letters: int) -> list[str]:
    """The words judged: parts of tokens split at apostrophes (elisions dropped), without digits, of at least
    ``min_letters`` characters."""
    out = []
    for token in tokens:
        if len(token) < min_letters:  # its parts are shorter still
            continue
        if token.isalpha():  # the common case: letters only, no apostrophe
            out.append(token)
        elif not any(c.isdigit() for c in token):
            out.extend(part for part in token.replace("’", "'").split("'") if len(part) >= min_letters)
    return out


@register
class LexiconGate(Gate):
    name = "lexicon"

    @dataclass(frozen=True)
    class Params:
        """``lexicon`` settings (data/filters.yaml)."""

        min_letters: int = field(metadata=at_least(1))
        min_words: int = field(metadata=at_least(1))
        min_unknown: int = field(metadata=at_least(1))
        max_unknown_share: float = field(metadata=between(0, 1))
        max_failed: int = field(metadata=at_least(0))

    def warm(self, ctx: GateContext) -> None:
        known_words(ctx.lang.code)

    def check_text(self, item: TextItem, ctx: GateContext) -> Drop | None:
        lists = known_words(ctx.lang.code)
        if lists is None:
            return None
        p = ctx.params
        words = long_words(ctx.tokens(item.text), p["min_letters"])
        if len(words) < p["min_words"]:
            return None
        target, english = lists
        unknown = [w for w in words if w not in target and w not in english]
        share = len(unknown) / len(words)
        if len(unknown) < p["min_unknown"] or share <= p["max_unknown_share"]:
            return None
        return Drop(
            self.name,
            f"{item.where}: {len(unknown)} of {len(words)} words are not {ctx.lang.name} words "
            f"({', '.join(unknown[:4])}) ({clip(item.text, 40)!r})",
            {"field": item.where, "unknown": unknown[:10], "share": round(share, 3)},
        )
