"""Gate interface and registry.

A gate judges one text at a time (``check_text``: a turn, a persona sentence or the common ground, with the
dialogue's earlier turns and the personas around it) and a whole row (``check``: by default its per-text
checks over the row's texts plus the dialogue rule ``max_failed``). Inline generation
(``moud_gates.inline.TextGates``) calls ``check_text``; ``moud filter`` calls ``check``, so both run
the same per-text code. A gate may also compute per-chunk work for many rows at once (``prefill``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

from moud_core.drop import Drop
from moud_core.languages import Language
from moud_core.text import tokenize


class TextItem(NamedTuple):
    """One text to judge: its field (``turns[3]``, ``persona_a[0]``, ``common_ground``), the text and, for a
    turn, the dialogue's earlier turn texts (in order) and both speakers' persona sentences."""

    where: str
    text: str
    earlier_turns: Sequence[str] = ()
    personas: Sequence[str] = ()


class GateContext:
    """What a gate gets besides the text or row: the language, its resolved settings, the ``counters`` its
    ``count`` adds to (None: nobody reads them, as while generating) and ``memo``, a per-row dict in which
    gates share derived values (tokens, script counts, prefilled results).
    (A plain class with slots: several are made for every text checked while generating.)"""

    __slots__ = ("lang", "params", "counters", "memo", "_tokens")

    def __init__(
        self, lang: Language, params: dict, counters: Counter | None = None, memo: dict | None = None
    ):
        self.lang, self.params, self.counters, self.memo = lang, params, counters, memo
        self._tokens = memo.setdefault("tokens", {}) if memo is not None else None

    def __repr__(self) -> str:
        return f"GateContext({self.lang.code!r}, {sorted(self.params)!r})"

    def tokens(self, text: str) -> list[str]:
        """``moud_core.text.tokenize(text, lang.segmentation)``, computed once per row; do not mutate it."""
        cache = self._tokens
        if cache is None:
            return tokenize(text, self.lang.segmentation)
        tokens = cache.get(text)
        if tokens is None:
            tokens = cache[text] = tokenize(text, self.lang.segmentation)
        return tokens

    def count(self, name: str, n: int = 1) -> None:
        """Add ``n`` to counter ``name``, one of the gate's ``counts`` (filter_stats.json sums them per
        language)."""
        if self.counters is not None:
            self.counters[name] += n


GATES: dict[str, type[Gate]] = {}  # name -> class, filled by @register (built-ins: moud_gates.builtin)


def gate_counts() -> list[str]:
    """The counters of every registered gate (``Gate.counts``), in registry order, each once."""
    return list(dict.fromkeys(name for cls in GATES.values() for name in cls.counts))


def register(cls: type[Gate]) -> type[Gate]:
    """Class decorator: make a gate available under its ``name`` (config key ``gates``)."""
    GATES[cls.name] = cls
    return cls


class Gate:
    """Base class. Subclasses set ``name``, register themselves (``@register``) and implement ``check_text``
    (per-text rules); ``check`` runs them over a row's texts (``texts``) and applies ``max_failed``.
    Stateful gates (dedup) implement ``signature``/``admit_id``/``release`` instead and are not run per text.
    Gates must not depend on other rows except through that state. A gate that counts something besides its
    drops (``GateContext.count``) names its counters in ``counts``: every language's entry of
    filter_stats.json has each of them (0 when nothing was counted)."""

    name = "gate"
    counts: tuple[str, ...] = ()  # the names this gate's ``GateContext.count`` calls use
    stateful = False
    persona = True  # whether check_text judges persona sentences and the common ground (else turns only)
    history = True  # whether check_text looks at the earlier turns and personas (else ``check`` passes none)

    @classmethod
    def from_config(cls, config, resources: dict) -> Gate:
        """The gate for a FilterConfig; ``resources`` holds shared objects (e.g. ``lid_model``)."""
        return cls()

    def warm(self, ctx: GateContext) -> None:
        """Optional: build lookup tables for ``ctx.lang`` now (before worker processes fork)."""

    def prefill(self, rows: list[dict], memos: list[dict], ctxs: list[GateContext]) -> None:
        """Optional per-chunk work for ``rows`` of one language (same settings): fill each row's memo with
        what ``check`` would compute for the row alone. The default does nothing."""

    def prefill_texts(self, texts: list[str], ctx: GateContext) -> None:
        """Optional: fill ``ctx.memo`` with what ``check_text`` would compute for each of ``texts`` (distinct,
        one language), computed for all of them at once. The default does nothing."""

    def applies(self, where: str, ctx: GateContext) -> bool:
        """Whether ``check_text`` judges texts of this field (``texts`` lists only those)."""
        return self.persona or where.startswith("turns[")

    def check_text(self, item: TextItem, ctx: GateContext) -> Drop | None:
        """Judge one text of a field the gate ``applies`` to (``item.where``)."""
        return None

    def texts(self, row: dict, ctx: GateContext) -> list[tuple[str, str]]:
        """The (field, text) pairs ``check`` judges."""
        return row_texts(row, self.persona, self.persona, ctx.memo)

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        """Per-text checks over ``texts``. Gates with a ``max_failed`` setting (the dialogue rule) fail the
        row when more texts than that fail, with the first failing text's drop and ``failed`` (how many
        failed) added to its scores; the others fail it on the first failing text."""
        limit = ctx.params.get("max_failed")
        personas = row_personas(row, ctx.memo) if self.history else ()
        turns = [t["text"] for t in row["turns"]] if self.history else ()
        failed: list[Drop] = []
        for where, text in self.texts(row, ctx):
            earlier = turns[: turn_index(where)] if turns and where.startswith("turns[") else ()
            drop = self.check_text(TextItem(where, text, earlier, personas), ctx)
            if drop is not None:
                if limit is None:
                    return drop
                failed.append(drop)
        if limit is not None and len(failed) > limit:
            return failed[0].with_scores(failed=len(failed))
        return None


def turn_index(where: str) -> int:
    """3 for ``turns[3]``."""
    return int(where[6:-1])


def row_personas(row: dict, memo: dict | None = None) -> list[str]:
    """The persona sentences of both speakers, each once, in order (computed once per row with ``memo``)."""
    got = memo.get("personas") if memo is not None else None
    if got is None:
        got = list(dict.fromkeys(row["persona_a"] + row["persona_b"]))
        if memo is not None:
            memo["personas"] = got
    return got


def row_texts(
    row: dict, persona: bool = True, common_ground: bool = True, memo: dict | None = None
) -> list[tuple[str, str]]:
    """(field, text) pairs to judge: turns, then unique persona sentences, then the common ground.
    With ``memo`` (a row's GateContext.memo) the list is computed once per row: do not mutate it."""
    if memo is not None:
        key = ("row_texts", persona, common_ground)
        got = memo.get(key)
        if got is None:
            got = memo[key] = row_texts(row, persona, common_ground)
        return got
    out = [(f"turns[{i}]", t["text"]) for i, t in enumerate(row["turns"])]
    if persona:
        seen = set()
        for key in ("persona_a", "persona_b"):
            for i, s in enumerate(row[key]):
                if s not in seen:
                    seen.add(s)
                    out.append((f"{key}[{i}]", s))
    if common_ground and row["common_ground"].strip():
        out.append(("common_ground", row["common_ground"]))
    return out


def clip(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
