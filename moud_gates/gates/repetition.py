"""Repetition gate: repeated and nearly repeated turns (loops), n-gram loops inside a turn, a speaker echoing
the other."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from moud_core.typed_config import at_least, between
from moud_gates.base import Drop, Gate, GateContext, TextItem, clip, register
from moud_gates.context_cache import ContextCache


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


class Turn(NamedTuple):
    index: int
    tokens: list[str]
    grams: set  # its n-grams (ngram_n)


class History:
    """The repetition rules' view of the turns so far: the first turn of each exact-repeat key, how many turns
    repeated an earlier one (exactly or nearly), and every turn."""

    __slots__ = ("first", "repeats", "turns")

    def __init__(self):
        self.first: dict[str, int] = {}
        self.repeats = 0
        self.turns: list[Turn] = []

    def previous(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    def same_speaker(self, window: int) -> list[Turn]:
        """The next turn's speaker's turns among the last ``window``, latest first (the other speaker's
        previous turn is the echo rule's)."""
        size = len(self.turns)
        return self.turns[size - 2 :: -2][: window // 2] if size >= 2 else []

    def recent(self, window: int) -> list[Turn]:
        """Both speakers' turns among the last ``window``, latest first."""
        return self.turns[: -window - 1 : -1] if window > 0 else []

    def push(self, key: str | None, repeat: bool, tokens: list[str], grams: set) -> None:
        """Add the next turn: its exact-repeat key, whether it repeats an earlier turn, tokens and n-grams."""
        index = len(self.turns)
        if key is not None and key not in self.first:
            self.first[key] = index
        self.repeats += repeat
        self.turns.append(Turn(index, tokens, grams))


def common_run(a: Sequence[str], b: Sequence[str], need: int) -> bool:
    """Whether ``a`` and ``b`` have a run of ``need`` consecutive tokens in common. Two turns are
    near-repeats ("Ah, oui, j'adore le jazz !" and "oui j'adore le jazz") when they have a common run of at
    least ``near_min_tokens`` tokens covering ``near_min_share`` of the longer one (tokens: words, or
    characters for Han/kana/Thai; case-folded, NFKC, punctuation dropped)."""
    runs = set(zip(*(a[i:] for i in range(need)), strict=False))
    return any(r in runs for r in zip(*(b[i:] for i in range(need)), strict=False))


def changed_tokens(a: Sequence[str], b: Sequence[str], most: int) -> int | None:
    """How many tokens differ between ``a`` and ``b`` when at most ``most`` do (the same length: position by
    position; else one run of tokens inserted, removed or replaced between a common start and end), else
    None. "Je vais au marché demain" / "Je vais au cinéma demain": 1."""
    la, lb = len(a), len(b)
    if abs(la - lb) > most:
        return None
    if la == lb:
        diff = sum(x != y for x, y in zip(a, b, strict=True))
        if diff <= most:
            return diff
    start = 0
    while start < min(la, lb) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(la, lb) - start and a[la - 1 - end] == b[lb - 1 - end]:
        end += 1
    diff = max(la, lb) - start - end
    return diff if diff <= most else None


@register
class RepetitionGate(Gate):
    name = "repetition"
    persona = False

    @dataclass(frozen=True)
    class Params:
        """``repetition`` settings (data/filters.yaml)."""

        min_tokens: int = field(metadata=at_least(0))
        max_repeated_turns: int = field(metadata=at_least(0))
        near_window: int = field(metadata=at_least(0))
        near_min_tokens: int = field(metadata=at_least(1))
        near_min_share: float = field(metadata=between(0, 1))
        near_any_speaker: bool
        near_changed_min_tokens: int = field(metadata=at_least(1))
        near_max_changed_share: float = field(metadata=between(0, 1))
        ngram_n: int = field(metadata=at_least(1))
        max_dup_ngram_frac: float = field(metadata=between(0, 1))
        min_ngrams: int = field(metadata=at_least(0))
        echo_min_tokens: int = field(metadata=at_least(0))
        max_echo_containment: float = field(metadata=between(0, 1))

    def __init__(self):
        self._histories = ContextCache()  # inline checks: the History after a dialogue's earlier turns
        self._passed = ContextCache()  # and what judging a turn that passed added to it

    @staticmethod
    def _key(tokens: list[str], ctx: GateContext) -> str | None:
        """The normalized text of a turn long enough to count as a repeated utterance, else None."""
        return " ".join(tokens) if len(tokens) >= ctx.params["min_tokens"] else None  # tokens are normalized

    @staticmethod
    def _grams(tokens: list[str], n: int) -> list:
        return list(zip(tokens, tokens[1:], tokens[2:], strict=False)) if n == 3 else _ngrams(tokens, n)

    def history(self, turns: Sequence[str], ctx: GateContext) -> History:
        """The History after ``turns`` (each judged as ``judge`` would, without failing; do not mutate it).
        Built from the cached History of ``turns[:-1]`` when there is one (the previous turn's check)."""
        turns = tuple(turns)
        return self._histories.get(ctx, turns, lambda: self._extend(turns, ctx))

    def _extend(self, turns: tuple[str, ...], ctx: GateContext) -> History:
        state = self._histories.take(ctx, turns[:-1]) if turns else None
        start = len(turns) - 1 if state is not None else 0
        state = state if state is not None else History()  # taken out of the cache: ours to extend
        for i in range(start, len(turns)):
            turn = self._passed.take(ctx, turns[: i + 1]) if i == start else None
            if turn is None:
                _, *turn = self.judge(f"turns[{i}]", turns[i], state, ctx, check=False)
            state.push(*turn)
        return state

    def judge(
        self, where: str, text: str, state: History, ctx: GateContext, check: bool = True
    ) -> tuple[Drop | None, str | None, bool, list[str], set]:
        """(drop or None, exact-repeat key, whether it repeats an earlier turn, tokens, n-gram set) of
        turn ``where`` after the turns in ``state``; ``check=False`` only computes the last four."""
        p = ctx.params
        n = int(p["ngram_n"])
        tokens = ctx.tokens(text)
        key = self._key(tokens, ctx)
        grams = self._grams(tokens, n)
        gram_set = set(grams)
        repeat_of, similarity = None, 1.0
        if key is not None and key in state.first:
            repeat_of = state.first[key]
        elif (size := len(tokens)) >= p["near_min_tokens"] and len(state.turns) >= (
            1 if p["near_any_speaker"] else 2
        ):
            # near_repeat inlined (it runs for every turn): exact cheap bounds first
            share, least = p["near_min_share"], p["near_min_tokens"]
            window = int(p["near_window"])
            for turn in state.recent(window) if p["near_any_speaker"] else state.same_speaker(window):
                other = len(turn.tokens)
                short, long = (size, other) if size <= other else (other, size)
                need = max(least, math.ceil(share * long - 1e-9))
                # no common run of ``need`` tokens when no common n-gram (the run would hold one)
                if not (short < need or (need >= n and gram_set.isdisjoint(turn.grams))) and common_run(
                    tokens, turn.tokens, need
                ):
                    repeat_of, similarity = turn.index, need / long
                    break
                # a word or two changed ("... au marché demain" / "... au cinéma demain")
                if (
                    long >= p["near_changed_min_tokens"]
                    and (
                        changed := changed_tokens(
                            tokens, turn.tokens, int(p["near_max_changed_share"] * long)
                        )
                    )
                    is not None
                ):
                    repeat_of, similarity = turn.index, 1 - changed / long
                    break
        result = (key, repeat_of is not None, tokens, gram_set)
        if not check:
            return (None, *result)
        if repeat_of is not None and state.repeats + 1 > p["max_repeated_turns"]:
            exact = key is not None and key in state.first
            how = (
                f"repeats turns[{repeat_of}]"
                if exact
                else (f"nearly repeats turns[{repeat_of}] ({similarity:.0%} of the longer one in common)")
            )
            return (
                Drop(
                    self.name,
                    f"{where} {how} ({state.repeats + 1} repeated turns, at most {p['max_repeated_turns']} "
                    f"allowed) ({clip(text, 40)!r})",
                    {
                        "field": where,
                        "kind": "repeated_turn" if exact else "near_repeat",
                        "repeats": f"turns[{repeat_of}]",
                        "repeated_turns": state.repeats + 1,
                    },
                ),
                *result,
            )
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
                *result,
            )
        prev = state.previous()
        if prev is not None and len(tokens) >= p["echo_min_tokens"]:
            # without repeated n-grams the positions in prev are the set intersection
            hits = (
                len(gram_set & prev.grams) if len(gram_set) == count else sum(g in prev.grams for g in grams)
            )
            echo = hits / count if count else 0.0
            if echo > p["max_echo_containment"]:
                return (
                    Drop(
                        self.name,
                        f"{where} echoes turns[{prev.index}]: {echo:.0%} of its {n}-grams copied, "
                        f"more than the {p['max_echo_containment']:.0%} allowed ({clip(text, 40)!r})",
                        {
                            "field": where,
                            "kind": "echo",
                            "repeats": f"turns[{prev.index}]",
                            "containment": round(echo, 4),
                        },
                    ),
                    *result,
                )
        return (None, *result)

    def check_text(self, item: TextItem, ctx: GateContext) -> Drop | None:
        """Rules for a turn given the turns before it (the previous one is the other speaker's)."""
        earlier = tuple(item.earlier_turns)
        drop, *turn = self.judge(item.where, item.text, self.history(earlier, ctx), ctx)
        if drop is None:  # the dialogue's next check will likely extend the History by this turn
            self._passed.put(ctx, (*earlier, item.text), turn)
        return drop

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        """``check_text`` for each turn in order, with the History kept as the turns go."""
        state = History()
        for i, turn in enumerate(row["turns"]):
            drop, *seen = self.judge(f"turns[{i}]", turn["text"], state, ctx)
            if drop is not None:
                return drop
            state.push(*seen)
        return None
