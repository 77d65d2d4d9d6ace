"""FilterPipeline: runs the configured gates on one row at a time (inline in generation or in `moud filter`).

A row's check is each gate's per-text checks (the ones ``inline.TextGates`` runs on single texts) plus the
dialogue rules (turn count, tolerated failures) and the stateful dedup admission. The pipeline knows gates
only through the registry (``base.GATES``) and the ``Gate`` hooks (``warm``, ``prefill``, ``check``,
``signature``/``admit_id``/``release``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from moud_core.charclass import class_table
from moud_core.languages import Language, get_language, load_registry
from moud_core.text import compiled_patterns
from moud_gates.base import Drop, Gate, GateContext, gate_counts
from moud_gates.config import FilterConfig
from moud_gates.inline import build_gates
from moud_gates.stats import FilterStats


@dataclass
class FilterResult:
    kept: bool
    row: dict
    drop: Drop | None = None


class Signatures(list):
    """The signatures of a row for several stateful gates, in config order."""


class FilterPipeline:
    """``check(row)`` -> FilterResult; ``stats`` (FilterStats) holds per-language counts
    (``stats_dict()``)."""

    def __init__(self, config: FilterConfig, registry: dict[str, Language] | None = None, lid_model=None):
        self.config = config
        self.registry = registry if registry is not None else load_registry()
        self.gates: list[Gate] = build_gates(config, lid_model)
        self.stats = FilterStats(gate_counts())

    @classmethod
    def from_config(
        cls,
        path: str | Path | None = None,
        registry: dict[str, Language] | None = None,
        lid_model_path: str | Path | None = None,
    ) -> FilterPipeline:
        config = FilterConfig.load(path)
        if lid_model_path is not None:
            config.raw["lid_model"] = str(lid_model_path)
        return cls(config, registry)

    def _context(
        self, lang: Language, gate: Gate, counters: Counter | None = None, memo: dict | None = None
    ) -> GateContext:
        return GateContext(lang, self.config.for_language(lang).get(gate.name, {}), counters, memo)

    def warm(self, codes) -> None:
        """Build the lookup tables and patterns of these languages now (the runner does it before starting
        worker processes, which then inherit them instead of each building their own)."""
        compiled_patterns()
        class_table()
        for code in codes:
            lang = get_language(code, self.registry)
            for gate in self.gates:
                gate.warm(self._context(lang, gate))

    def prefill(self, rows: list[dict]) -> list[dict]:
        """One memo per row (for ``check_stateless``) holding what the gates would compute for the row alone,
        computed by each gate's ``prefill`` hook for many rows at once, per language."""
        memos: list[dict] = [{} for _ in rows]
        by_lang: dict[str, list[int]] = {}
        for i, row in enumerate(rows):
            by_lang.setdefault(row["language"], []).append(i)
        for code, idx in by_lang.items():
            lang = get_language(code, self.registry)
            group, group_memos = [rows[i] for i in idx], [memos[i] for i in idx]
            for gate in self.gates:
                if type(gate).prefill is not Gate.prefill:  # a gate with per-chunk work
                    gate.prefill(
                        group, group_memos, [self._context(lang, gate, None, m) for m in group_memos]
                    )
        return memos

    def check_stateless(self, row: dict, memo: dict | None = None) -> tuple[Drop | None, object, Counter]:
        """Run every gate except the stateful admission; returns (drop, signature or None, counters): the
        stateful gate's signature (dedup's), or ``Signatures`` (one per stateful gate, in order) when the
        config has several. ``memo``: from ``prefill`` (optional)."""
        counters: Counter = Counter()
        if memo is None:
            memo = {}  # tokens and script/letter counts shared by the gates for this row
        lang = get_language(row["language"], self.registry)
        signatures = []
        for gate in self.gates:
            ctx = self._context(lang, gate, counters, memo)
            if gate.stateful:
                signatures.append(gate.signature(row, ctx))
                continue
            drop = gate.check(row, ctx)
            if drop is not None:
                return drop, None, counters
        if not signatures:
            return None, None, counters
        return None, signatures[0] if len(signatures) == 1 else Signatures(signatures), counters

    def admit(self, row: dict, signature) -> Drop | None:
        """Stateful step (dedup, persona cap) for a row that passed ``check_stateless``."""
        return self.admit_id(row["id"], row["language"], signature)

    def admit_id(self, row_id: str, code: str, signature) -> Drop | None:
        """``admit`` given only the row's id and language (the runner's parent process keeps rows as text).
        Stateful gates admit in config order; the first that refuses decides (the ones before it have
        recorded the row)."""
        if signature is None:
            return None
        stateful = [g for g in self.gates if g.stateful]
        sigs = signature if isinstance(signature, Signatures) else [signature]
        lang = get_language(code, self.registry)
        for gate, sig in zip(stateful, sigs, strict=True):
            drop = gate.admit_id(row_id, sig, self._context(lang, gate))
            if drop is not None:
                return drop
        return None

    def release(self, code: str) -> None:
        """Every row of language ``code`` has been admitted: drop its stateful gates' state."""
        for gate in self.gates:
            if gate.stateful:
                gate.release(code)

    def check(self, row: dict) -> FilterResult:
        """Every gate, dedup admission included; the outcome is counted in ``stats``."""
        drop, signature, counters = self.check_stateless(row)
        if drop is None:
            drop = self.admit(row, signature)
        self.stats.record(row["language"], None if drop is None else drop.gate, counters)
        return FilterResult(drop is None, row, drop)

    def stats_dict(self) -> dict:
        return {
            "config": self.config.to_dict(),
            "gates": self.config.gates,
            "languages": self.stats.to_dict(),
        }
