"""Token ids of a turn for the multitask model: persona + history as a prefix shared by every candidate reply.

Layout (text markers, so no new embeddings are needed and LoRA can leave embeddings frozen)::

    [bos] persona: <s1> <s2> ...\\nother: <u1>\\nself: <u2>\\nother: <u3>\\nself: <candidate>[eos]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from baselines.model import MultitaskConfig


class DialogueEncoder:
    """Turns (persona, history, candidate) into token ids with a prefix shared by all candidates."""

    def __init__(self, tokenizer, config: MultitaskConfig):
        self.tok, self.cfg = tokenizer, config
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.eos = tokenizer.eos_token_id
        self.bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
        self.self_ids = self._ids("\n" + config.self_marker)

    def _ids(self, text: str) -> list[int]:
        return self.tok(text, add_special_tokens=False)["input_ids"]

    def suffix(self, reply: str) -> list[int]:
        ids = self._ids(" " + reply.strip())[: self.cfg.max_reply_tokens]
        return ids + ([self.eos] if self.eos is not None else [])

    def prefix(self, persona: list[str], history: list[str], budget: int | None = None) -> list[int]:
        """Context ids ending with the self marker, at most ``budget`` tokens: oldest history utterances
        are dropped first, then tokens are cut from the left."""
        budget = self.cfg.max_length - self.cfg.max_reply_tokens - 1 if budget is None else budget
        persona_ids = self._ids(" ".join([self.cfg.persona_marker, *persona]))
        n = len(history)
        hist = [
            self._ids(f"\n{self.cfg.other_marker if (n - i) % 2 == 1 else self.cfg.self_marker} {u}")
            for i, u in enumerate(history)
        ]
        room = budget - len(self.bos) - len(self.self_ids)
        while len(hist) > 1 and len(persona_ids) + sum(map(len, hist)) > room:
            hist.pop(0)
        ctx = persona_ids + [t for h in hist for t in h]
        if len(ctx) > room:
            ctx = ctx[len(ctx) - max(room, 0) :]
        return self.bos + ctx + self.self_ids

    def encode(self, persona: list[str], history: list[str], candidates: list[str]):
        """(prefix ids, [suffix ids per candidate]) fitting ``max_length``. The prefix's budget leaves room
        for the longest possible reply (``max_reply_tokens`` + eos), whatever the candidates: the gold reply's
        context, hence its perplexity, never depends on which distractors were drawn."""
        return self.prefix(persona, history), [self.suffix(c) for c in candidates]
