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
from moud_gates.segments import split_segments


def sentences(text: str) -> list[str]:
    """The sentences of a text (the text itself when it has one)."""
    parts = [s.text for s in split_segments(text) if s.kind == "sentence"]
    return parts or [text]


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

    def _judge(self, where: str, text: str, said: Said, ctx: GateContext, check: bool = True) -> Drop | None:
        """Add ``text``'s long sentences to ``said``; with ``check``, the Drop when the dialogue's repeated
        sentences go over ``max_repeated`` with this turn's."""
        p = ctx.params
        found = None
        for sentence, tokens in self._long(text, ctx):
            if said.find(tokens, p["max_changed_share"]) is not None:
                said.repeats += 1
                found = found or sentence
            said.add(tokens)
        if not check or found is None or said.repeats <= p["max_repeated"]:
            return None
        return Drop(
            self.name,
            f"{where} says again a sentence of an earlier turn ({said.repeats} repeated sentences, at most "
            f"{p['max_repeated']} allowed) ({clip(found, 40)!r})",
            {"field": where, "kind": "repeated_sentence", "repeated_sentences": said.repeats},
        )

    def _state(self, turns: Sequence[str], ctx: GateContext) -> Said:
        """A copy of the Said after ``turns`` (built on the cached one of ``turns[:-1]`` when present)."""
        turns = tuple(turns)
        said = self._said.take(ctx, turns)
        if said is None:
            said = self._said.take(ctx, turns[:-1]) if turns else None
            start = len(turns) - 1 if said is not None else 0
            said = said if said is not None else Said()
            for i in range(start, len(turns)):
                self._judge(f"turns[{i}]", turns[i], said, ctx, check=False)
        return said

    def check_text(self, item: TextItem, ctx: GateContext) -> Drop | None:
        earlier = tuple(item.earlier_turns)
        said = self._state(earlier, ctx)
        before = (said.repeats, {k: len(v) for k, v in said.by_length.items()}, set(said.exact))
        drop = self._judge(item.where, item.text, said, ctx)
        if drop is None:  # the next check of this dialogue starts from here
            self._said.put(ctx, (*earlier, item.text), said)
        else:  # a regenerated turn is judged against the earlier turns again
            said.repeats, lengths, said.exact = before
            said.by_length = {k: v[: lengths[k]] for k, v in said.by_length.items() if k in lengths}
            self._said.put(ctx, earlier, said)
        return drop

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        said = Said()
        for i, turn in enumerate(row["turns"]):
            drop = self._judge(f"turns[{i}]", turn["text"], said, ctx)
            if drop is not None:
                return drop
        return None
