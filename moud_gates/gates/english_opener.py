"""English-opener gate: English words that open the sentences of a non-English text, the tic of a model that
thinks in English ("Madam, je m'aiderai ...", "Sorry, il faut ...", "The 1920s est ..."). Language ID misses
them: one English word ahead of a French sentence leaves the text French. Two rules:

* the common ground (a narrator's text, which no chat partner code-switches in) fails when one of its
  sentences opens with an English function word (data/english_words.yaml);
* a dialogue fails when more than ``max_same_opener`` of its turns open with the same English word: people
  code-switch ("lol", "well, ..."), but no one in the XPersona validation dialogues opened more than two turns
  of a dialogue with the same English word (the model above: five turns of "Madam, ...").

"English" means: a word of the English `wordfreq` list at least ``min_zipf`` frequent whose frequency there is
at least ``min_zipf_margin`` above its frequency in the language's list (data/lexicon.yaml; "ok", "cool" and
"hello" are words of French too); a language without a list gets the function-word list alone."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from moud_core.typed_config import at_least
from moud_gates.base import Drop, Gate, GateContext, TextItem, clip, register
from moud_gates.gates.lexicon import known_words, wordlist
from moud_gates.lid.words import english_words
from moud_gates.segments import sentences


def zipf(frequency: float) -> float:
    """wordfreq's Zipf scale: log10 of the frequency per billion words (0 for an unknown word)."""
    return math.log10(frequency) + 9 if frequency > 0 else 0.0


@functools.lru_cache(maxsize=1 << 16)
def is_english(word: str, code: str, min_zipf: float, margin: float) -> bool:
    """Whether ``word`` (case-folded) is an English word rather than a word of language ``code``."""
    if not word.isalpha():
        return False
    lists = known_words(code)
    if lists is None:
        return word in english_words(code)
    target, english = lists
    here = zipf(english.get(word, 0.0))
    return here >= min_zipf and here - zipf(target.get(word, 0.0)) >= margin


@register
class EnglishOpenerGate(Gate):
    name = "english_opener"

    @dataclass(frozen=True)
    class Params:
        """``english_opener`` settings (data/filters.yaml)."""

        min_zipf: float = field(metadata=at_least(0))
        min_zipf_margin: float = field(metadata=at_least(0))
        max_same_opener: int = field(metadata=at_least(0))
        check_common_ground: bool

    def warm(self, ctx: GateContext) -> None:
        if ctx.lang.code != "en":
            known_words(ctx.lang.code)
            english_words(ctx.lang.code)
            wordlist("en")

    def applies(self, where: str, ctx: GateContext) -> bool:
        return ctx.lang.code != "en" and (where.startswith("turns[") or where == "common_ground")

    def texts(self, row: dict, ctx: GateContext) -> list[tuple[str, str]]:
        return [(w, t) for w, t in super().texts(row, ctx) if self.applies(w, ctx)]

    def _english(self, word: str, ctx: GateContext) -> bool:
        p = ctx.params
        return is_english(word, ctx.lang.code, p["min_zipf"], p["min_zipf_margin"])

    def _opener(self, text: str, ctx: GateContext) -> str | None:
        """The first word of ``text`` when it is an English word, else None."""
        tokens = ctx.tokens(text)
        return tokens[0] if tokens and self._english(tokens[0], ctx) else None

    def check_text(self, item: TextItem, ctx: GateContext) -> Drop | None:
        p, code = ctx.params, ctx.lang.code
        if item.where == "common_ground":
            if not p["check_common_ground"]:
                return None
            function_words = english_words(code)
            for sentence in sentences(item.text):
                word = self._opener(sentence, ctx)
                if word is not None and word in function_words:
                    return Drop(
                        self.name,
                        f"common_ground: a sentence opens with the English word {word!r} "
                        f"({clip(sentence, 40)!r})",
                        {"field": "common_ground", "kind": "english_in_narration", "word": word},
                    )
            return None
        word = self._opener(item.text, ctx)
        if word is None:
            return None
        same = 1 + sum(self._opener(t, ctx) == word for t in item.earlier_turns)
        if same <= p["max_same_opener"]:
            return None
        return Drop(
            self.name,
            f"{item.where} opens with the English word {word!r} as {same - 1} earlier turns do (at most "
            f"{p['max_same_opener']} turns may) ({clip(item.text, 40)!r})",
            {"field": item.where, "kind": "english_opener", "word": word, "turns": same},
        )
