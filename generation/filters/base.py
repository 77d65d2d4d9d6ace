"""Gate interface: each gate looks at one row and returns None (keep) or a Drop with its reason."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from moud_core.languages import Language
from moud_core.text import tokenize


@dataclass
class Drop:
    """Why a row was dropped: the gate's name, a one-line human reason and the scores that decided it."""

    gate: str
    reason: str
    scores: dict = field(default_factory=dict)

    def to_record(self, row) -> dict:
        return {"row": row, "gate": self.gate, "reason": self.reason, "scores": self.scores}


@dataclass
class GateContext:
    """What a gate gets besides the row: the language, its resolved settings, shared counters and ``memo``,
    a per-row dict in which gates share derived values (tokens, script counts) while the row is checked."""

    lang: Language
    params: dict
    counters: Counter
    memo: dict | None = None

    def tokens(self, text: str) -> list[str]:
        """``moud_core.text.tokenize(text, lang.segmentation)`` (via the faster, identical
        ``filters.tokens.tokenize``), computed once per row; do not mutate the list."""
        cache = self.token_cache()
        if cache is None:
            return tokenize(text, self.lang.segmentation)
        tokens = cache.get(text)
        if tokens is None:
            tokens = cache[text] = tokenize(text, self.lang.segmentation)
        return tokens

    def token_cache(self) -> dict | None:
        """The row's text -> tokens dict that ``tokens`` fills (None without a memo)."""
        return None if self.memo is None else self.memo.setdefault("tokens", {})


class Gate:
    """Base class. Subclasses set ``name`` and implement ``check``; they must not depend on other rows
    (stateful gates such as dedup implement ``signature``/``admit`` instead)."""

    name = "gate"
    stateful = False

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        raise NotImplementedError


def row_texts(row: dict, persona: bool = True, common_ground: bool = True,
              memo: dict | None = None) -> list[tuple[str, str]]:
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
