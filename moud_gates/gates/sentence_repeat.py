"""Sentence-repeat gate: whole sentences said again in later turns ("Il me faut ... avec notre ami." in four
turns, with a word or two changed), the loop of a model that recycles its own lines inside new turns, which
the turn-level repetition rules miss because each turn as a whole differs. People rarely say one long
sentence twice in a conversation (the XPersona validation dialogues: at most 2 such sentences in a dialogue,
in 14 of 1,796 dialogues in all)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from moud_core.typed_config import at_least, between
from moud_gates.base import Drop, Gate, GateContext, TextItem, clip, register
from moud_gates.context_cache import ContextCache
from moud_gates.gates.repetition import changed_tokens
from moud_gates.segments import sentences


class Said:
    """The long sentences of the turns so far (token tuples, bucketed by length) and how many repeated an
    earlier one."""

    __slots__ = ("by_length", "exact", "repeats")

    def __init__(self):
        self.by_length: dict[int, list[tuple[str, ...]]] = {}
        self.exact: set[tuple[str, ...]] = set()
        self.repeats = 0

    def find(self, tokens: tuple[str, ...], max_changed_share: float) -> tuple[str, ...] | None:
        """An earlier sentence that ``tokens`` repeats, exactly or with at most ``max_changed_share`` of the
        longer one's tokens changed, else None."""
        if tokens in self.exact:
            return tokens
        size = len(tokens)
        most = int(max_changed_share * size / (1 - max_changed_share)) if max_changed_share < 1 else size
        for length in range(size - most, size + most + 1):
            for other in self.by_length.get(length, ()):
                if changed_tokens(tokens, other, int(max_changed_share * max(size, length))) is not None:
                    return other
        return None

    def add(self, tokens: tuple[str, ...]) -> None:
        self.exact.add(tokens)
        self.by_length.setdefault(len(tokens), []).append(tokens)

    def add_turn(self, long: list[tuple[str, tuple[str, ...]]], repeats: int) -> None:
        """Add a kept turn: its long sentences (``SentenceRepeatGate._long``) and how many repeated."""
        for _, tokens in long:
            self.add(tokens)
        self.repeats += repeats


@register
class SentenceRepeatGate(Gate):
    name = "sentence_repeat"
    persona = False

    @dataclass(frozen=True)
    class Params:
        """``sentence_repeat`` settings (data/filters.yaml)."""

        min_tokens: int = field(metadata=at_least(1))
        max_changed_share: float = field(metadata=between(0, 0.9))
        max_repeated: int = field(metadata=at_least(0))

    def __init__(self):
        self._said = ContextCache()  # inline checks: the Said after a dialogue's earlier turns

    def _long(self, text: str, ctx: GateContext) -> list[tuple[str, tuple[str, ...]]]:
        """(sentence, its tokens) for each sentence of ``text`` with at least ``min_tokens`` tokens."""
        least = ctx.params["min_tokens"]
        out = []
        for sentence in sentences(text):
            tokens = tuple(ctx.tokens(sentence))
            if len(tokens) >= least:
                out.append((sentence, tokens))
        return out

    def _judge(self, where: str, text: str, said: Said, ctx: GateContext) -> tuple[Drop | None, list, int]:
        """(the Drop when the dialogue's repeated sentences go over ``max_repeated`` with this turn's, else
        None; the turn's long sentences; how many of them repeat an earlier one, of an earlier turn or of this
        turn). ``said`` is not changed: ``Said.add_turn`` adds a turn that is kept."""
        p = ctx.params
        long = self._long(text, ctx)
        own = Said()  # the turn's sentences so far: a sentence said twice within one turn counts too
        found, repeats = None, 0
        for sentence, tokens in long:
            share = p["max_changed_share"]
            if said.find(tokens, share) is not None or own.find(tokens, share) is not None:
                repeats += 1
                found = found or sentence
            own.add(tokens)
        if found is None or said.repeats + repeats <= p["max_repeated"]:
            return None, long, repeats
        total = said.repeats + repeats
        drop = Drop(
            self.name,
            f"{where} says again a sentence of an earlier turn ({total} repeated sentences, at most "
            f"{p['max_repeated']} allowed) ({clip(found, 40)!r})",
            {"field": where, "kind": "repeated_sentence", "repeated_sentences": total},
        )
        return drop, long, repeats

    def _state(self, turns: Sequence[str], ctx: GateContext) -> Said:
        """The Said after ``turns``, taken out of the cache (built on the cached one of ``turns[:-1]`` when
        present)."""
        turns = tuple(turns)
        said = self._said.take(ctx, turns)
        if said is None:
            said = self._said.take(ctx, turns[:-1]) if turns else None
            start = len(turns) - 1 if said is not None else 0
            said = said if said is not None else Said()
            for i in range(start, len(turns)):
                _, long, repeats = self._judge(f"turns[{i}]", turns[i], said, ctx)
                said.add_turn(long, repeats)
        return said

    def check_text(self, item: TextItem, ctx: GateContext) -> Drop | None:
        earlier = tuple(item.earlier_turns)
        said = self._state(earlier, ctx)
        drop, long, repeats = self._judge(item.where, item.text, said, ctx)
        if drop is None:  # the next check of this dialogue starts from here
            said.add_turn(long, repeats)
            self._said.put(ctx, (*earlier, item.text), said)
        else:  # a regenerated turn is judged against the same earlier turns
            self._said.put(ctx, earlier, said)
        return drop

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        said = Said()
        for i, turn in enumerate(row["turns"]):
            drop, long, repeats = self._judge(f"turns[{i}]", turn["text"], said, ctx)
            if drop is not None:
                return drop
            said.add_turn(long, repeats)
        return None
