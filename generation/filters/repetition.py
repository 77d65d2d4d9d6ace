"""Repetition gate: repeated turns, n-gram loops inside a turn, a speaker echoing the other."""

from __future__ import annotations

from collections.abc import Sequence

from generation.filters.base import Drop, Gate, GateContext, clip, register, turn_index
from moud_core.text import normalize


def _ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    """Same n-grams as ``moud_core.text.ngrams`` (built with zip: several times faster)."""
    if n <= 0:
        return [()] * (len(tokens) + 1)
    return list(zip(*(tokens[i:] for i in range(n)), strict=False))


def dup_ngram_frac(tokens: list[str], n: int) -> tuple[float, int]:
    """(share of n-grams that repeat an earlier n-gram of the same text, number of n-grams)."""
    grams = _ngrams(tokens, n)
    if not grams:
        return 0.0, 0
    return 1.0 - len(set(grams)) / len(grams), len(grams)


def containment(tokens: list[str], other: list[str], n: int) -> float:
    """Share of ``tokens``' n-grams that also occur in ``other``."""
    grams = _ngrams(tokens, n)
    if not grams:
        return 0.0
    pool = set(_ngrams(other, n))
    return sum(g in pool for g in grams) / len(grams)


class History:
    """The repetition rules' view of the turns so far: the first turn of each repeat key, how many turns
    repeated an earlier one, and the previous turn's n-grams."""

    __slots__ = ("first", "repeats", "prev_grams", "size")

    def __init__(self):
        self.first: dict[str, int] = {}
        self.repeats = 0
        self.prev_grams: set | None = None
        self.size = 0

    def push(self, key: str | None, grams: set | None) -> None:
        """Add the next turn (its repeat key, its n-gram set)."""
        if key is not None:
            if key in self.first:
                self.repeats += 1
            else:
                self.first[key] = self.size
        self.prev_grams = grams
        self.size += 1


@register
class RepetitionGate(Gate):
    name = "repetition"
    persona = False

    @staticmethod
    def _key(tokens: list[str], ctx: GateContext) -> str | None:
        """The normalized text of a turn long enough to count as a repeated utterance, else None."""
        return normalize(" ".join(tokens)) if len(tokens) >= ctx.params["min_tokens"] else None

    @staticmethod
    def _grams(tokens: list[str], n: int) -> list:
        return list(zip(tokens, tokens[1:], tokens[2:], strict=False)) if n == 3 else _ngrams(tokens, n)

    def history(self, turns: Sequence[str], ctx: GateContext) -> History:
        """The History after ``turns``."""
        state = History()
        n = int(ctx.params["ngram_n"])
        for i, text in enumerate(turns):
            tokens = ctx.tokens(text)
            state.push(self._key(tokens, ctx), set(self._grams(tokens, n)) if i == len(turns) - 1 else None)
        return state

    def judge(
        self, where: str, text: str, state: History, ctx: GateContext
    ) -> tuple[Drop | None, str | None, set]:
        """(drop or None, repeat key, n-gram set) of turn ``where`` after the turns in ``state``."""
        p = ctx.params
        n = int(p["ngram_n"])
        tokens = ctx.tokens(text)
        key = self._key(tokens, ctx)
        if key is not None and key in state.first and state.repeats + 1 > p["max_repeated_turns"]:
            return (
                Drop(
                    self.name,
                    f"{where} repeats turns[{state.first[key]}] "
                    f"({state.repeats + 1} repeated turns, at most {p['max_repeated_turns']} allowed) "
                    f"({clip(text, 40)!r})",
                    {"field": where, "kind": "repeated_turn", "repeated_turns": state.repeats + 1},
                ),
                key,
                set(),
            )
        grams = self._grams(tokens, n)
        gram_set = set(grams)
        count = len(grams)
        frac = 1.0 - len(gram_set) / count if count else 0.0
        if count >= p["min_ngrams"] and frac > p["max_dup_ngram_frac"]:
            return (
                Drop(
                    self.name,
                    f"{where}: {frac:.0%} of its {n}-grams are repeats, at most "
                    f"{p['max_dup_ngram_frac']:.0%} allowed ({clip(text, 40)!r})",
                    {"field": where, "kind": "ngram_loop", "dup_ngram_frac": round(frac, 4)},
                ),
                key,
                gram_set,
            )
        prev = state.prev_grams
        if prev is not None and len(tokens) >= p["echo_min_tokens"]:
            # without repeated n-grams the positions in prev are the set intersection
            hits = len(gram_set & prev) if len(gram_set) == count else sum(g in prev for g in grams)
            echo = hits / count if count else 0.0
            if echo >= p["max_echo_containment"]:
                return (
                    Drop(
                        self.name,
                        f"{where} echoes turns[{turn_index(where) - 1}]: {echo:.0%} of its "
                        f"{n}-grams copied, below {p['max_echo_containment']:.0%} allowed "
                        f"({clip(text, 40)!r})",
                        {"field": where, "kind": "echo", "containment": round(echo, 4)},
                    ),
                    key,
                    gram_set,
                )
        return None, key, gram_set

    def check_text(
        self,
        where: str,
        text: str,
        ctx: GateContext,
        earlier_turns: Sequence[str] = (),
        personas: Sequence[str] = (),
    ) -> Drop | None:
        """Rules for turn ``where`` given the turns before it (the previous one is the other speaker's)."""
        return self.judge(where, text, self.history(earlier_turns, ctx), ctx)[0]

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        """``check_text`` for each turn in order, with the History kept as the turns go."""
        state = History()
        for i, turn in enumerate(row["turns"]):
            drop, key, grams = self.judge(f"turns[{i}]", turn["text"], state, ctx)
            if drop is not None:
                return drop
            state.push(key, grams)
        return None
