"""Lexicon gate: the words of a text must be words of its language. A text fails when enough of its longer
words (at least ``min_letters`` letters, no digits; elided parts such as "l'" set apart) are in neither the
language's nor the English `wordfreq` list: invented words that only look like the language, which language ID
scores as the language. A text also fails when it has unknown words and the dialogue so far (persona
sentences, earlier turns and the text) holds too many of them: invented words sprinkled among real ones, a few
per text, add up (real chat: at most 3.3% of a dialogue's longer words on the XPersona validation files;
a real tiny model's kept French salad: 19%). Word lists and the languages without one: data/lexicon.yaml."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from moud_core.errors import ConfigError
from moud_core.typed_config import at_least, between
from moud_core.yamlio import load_yaml
from moud_gates.base import Drop, Gate, GateContext, TextItem, clip, register
from moud_gates.data_dir import DATA_DIR
from moud_gates.lid.words import without_accents

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
def plain_wordlist(name: str) -> frozenset[str]:
    """wordfreq's list for ``name`` without accents and other combining marks (accent-insensitive lookups)."""
    return frozenset(without_accents(w) for w in wordlist(name))


@functools.lru_cache(maxsize=1 << 16)
def known_when_normalized(word: str, code: str) -> bool:
    """Whether ``word`` (case-folded, in neither list as written) is a word of language ``code``'s list once
    normalized as wordfreq normalizes text of the language (Arabic without its optional vowel marks: "جداً" is
    "جدا") or without accents on both sides ("tres", "ecole": people drop them in chat)."""
    from wordfreq.preprocess import preprocess_text

    name = lexicon_data()["wordlists"][code]
    normalized = preprocess_text(word, name)
    if normalized in wordlist(name):
        return True
    return without_accents(normalized) in plain_wordlist(name)


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
        dialogue_max_unknown_share: float = field(metadata=between(0, 1))
        dialogue_min_unknown: int = field(metadata=at_least(1))
        max_failed: int = field(metadata=at_least(0))

    def warm(self, ctx: GateContext) -> None:
        if known_words(ctx.lang.code) is not None:
            plain_wordlist(lexicon_data()["wordlists"][ctx.lang.code])

    def _unknown(self, text: str, lists: tuple, ctx: GateContext) -> tuple[int, list[str]]:
        """(how many words of ``text`` are judged, those in neither list)."""
        words = long_words(ctx.tokens(text), ctx.params["min_letters"])
        target, english = lists
        code = ctx.lang.code
        return len(words), [
            w for w in words if w not in target and w not in english and not known_when_normalized(w, code)
        ]

    def check_text(self, item: TextItem, ctx: GateContext) -> Drop | None:
        lists = known_words(ctx.lang.code)
        if lists is None:
            return None
        p = ctx.params
        judged, unknown = self._unknown(item.text, lists, ctx)
        if not unknown:
            return None
        if (
            judged < p["min_words"]
            or len(unknown) < p["min_unknown"]
            or len(unknown) / judged <= p["max_unknown_share"]
        ):
            return self._dialogue(item, judged, unknown, lists, ctx)
        share = len(unknown) / judged
        return Drop(
            self.name,
            f"{item.where}: {len(unknown)} of {judged} words are not {ctx.lang.name} words "
            f"({', '.join(unknown[:4])}) ({clip(item.text, 40)!r})",
            {"field": item.where, "unknown": unknown[:10], "share": round(share, 3)},
        )

    def _dialogue(self, item: TextItem, judged: int, unknown: list[str], lists: tuple, ctx: GateContext):
        """The dialogue rule for a text with unknown words: the unknown share of the persona sentences, the
        earlier turns and the text together."""
        p = ctx.params
        total, missing = judged, len(unknown)
        for text in dict.fromkeys((*item.personas, *item.earlier_turns)):
            if text != item.text:
                n, u = self._unknown(text, lists, ctx)
                total, missing = total + n, missing + len(u)
        if missing < p["dialogue_min_unknown"] or missing / total <= p["dialogue_max_unknown_share"]:
            return None
        return Drop(
            self.name,
            f"{item.where}: {len(unknown)} unknown words ({', '.join(unknown[:4])}) bring the dialogue to "
            f"{missing} of {total} longer words ({missing / total:.0%}) that are not {ctx.lang.name} words "
            f"({clip(item.text, 40)!r})",
            {
                "field": item.where,
                "kind": "dialogue",
                "unknown": unknown[:10],
                "share": round(missing / total, 3),
            },
        )
