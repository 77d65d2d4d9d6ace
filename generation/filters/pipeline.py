"""FilterPipeline: runs the configured gates on one row at a time (inline in generation or in `moud filter`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from generation.filters.base import Drop, Gate, GateContext, row_texts
from generation.filters.config import FilterConfig
from generation.filters.dedup import DedupGate
from generation.filters.leakage import LeakageGate
from generation.filters.length import LengthGate
from generation.filters.lid import LidGate, LidModel
from generation.filters.repetition import RepetitionGate
from generation.filters.script import ScriptGate, script_class_table
from moud_core.charclass import _FIELD, class_table, count_texts
from moud_core.languages import Language, get_language, load_registry
from moud_core.text import compiled_patterns

SIMPLE_GATES = {"length": LengthGate, "script": ScriptGate, "repetition": RepetitionGate, "leakage": LeakageGate}


@dataclass
class FilterResult:
    kept: bool
    row: dict
    drop: Drop | None = None


@dataclass
class LanguageStats:
    input: int = 0
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)
    skipped_short: int = 0

    def to_dict(self) -> dict:
        return {"input": self.input, "kept": self.kept, "dropped": dict(sorted(self.dropped.items())),
                "skipped_short": self.skipped_short}

    def add(self, other: LanguageStats) -> None:
        self.input += other.input
        self.kept += other.kept
        self.dropped.update(other.dropped)
        self.skipped_short += other.skipped_short


class FilterPipeline:
    """``check(row)`` -> FilterResult; ``stats`` holds per-language counts (``stats_dict()`` for JSON)."""

    def __init__(self, config: FilterConfig, registry: dict[str, Language] | None = None,
                 lid_model: LidModel | None = None):
        self.config = config
        self.registry = registry if registry is not None else load_registry()
        self.gates: list[Gate] = []
        for name in config.gates:
            if name == "lid":
                model = lid_model or LidModel(config.raw.get("lid_model"), config.raw.get("lid_labels", "fasttext"),
                                              config.raw.get("lid_backend", "auto"))
                self.gates.append(LidGate(model))
            elif name == "dedup":
                self.gates.append(DedupGate())
            else:
                self.gates.append(SIMPLE_GATES[name]())
        self.stats: dict[str, LanguageStats] = {}

    @classmethod
    def from_config(cls, path: str | Path | None = None, registry: dict[str, Language] | None = None,
                    lid_model_path: str | Path | None = None) -> FilterPipeline:
        config = FilterConfig.load(path)
        if lid_model_path is not None:
            config.raw["lid_model"] = str(lid_model_path)
        return cls(config, registry)

    def warm(self, codes) -> None:
        """Build the lookup tables and patterns of these languages now (the runner does it before starting
        worker processes, which then inherit them instead of each building their own)."""
        compiled_patterns()
        class_table()
        for code in codes:
            lang = get_language(code, self.registry)
            if "script" in self.config.gates:
                p = self.config.for_language(lang)["script"]
                script_class_table(lang.script, p["require_any"], p["forbid_any"])

    def _context(self, row: dict, gate: str, counters: Counter, memo: dict | None = None) -> GateContext:
        lang = get_language(row["language"], self.registry)
        return GateContext(lang, self.config.for_language(lang)[gate], counters, memo)

    def _stats(self, code: str) -> LanguageStats:
        return self.stats.setdefault(code, LanguageStats())

    def prefill(self, rows: list[dict]) -> list[dict]:
        """One memo per row (for ``check_stateless``) holding what the gates would compute for the row alone,
        computed for many rows at once, per language: the LID results, the dedup signature (with the turns'
        tokens) and the script and letter counts of all its texts."""
        memos: list[dict] = [{} for _ in rows]
        if "lid" in self.config.gates:
            self._prefill_lid(rows, memos)
        if "dedup" in self.config.gates:
            self._prefill_dedup(rows, memos)
        if "script" in self.config.gates:
            self._prefill_script(rows, memos)
        return memos

    def _gate(self, name: str) -> Gate:
        return next(g for g in self.gates if g.name == name)

    @staticmethod
    def _by_language(rows: list[dict]) -> dict[str, list[int]]:
        """Row indices grouped by language, in order."""
        by_lang: dict[str, list[int]] = {}
        for i, row in enumerate(rows):
            by_lang.setdefault(row["language"], []).append(i)
        return by_lang

    def _prefill_script(self, rows: list[dict], memos: list[dict]) -> None:
        """Script and letter counts of every text of ``rows``, one numpy pass per language and ~2 M chars."""
        for code, idx in self._by_language(rows).items():
            lang = get_language(code, self.registry)
            p = self.config.for_language(lang)["script"]
            required, forbidden = tuple(p["require_any"]), tuple(p["forbid_any"])
            key = ("script_counts", lang.script, lang.segmentation, required, forbidden)
            table = script_class_table(lang.script, required, forbidden)
            chars = lang.segmentation == "chars"
            texts_of = {i: list(dict.fromkeys(t for _, t in row_texts(rows[i], memo=memos[i]))) for i in idx}
            batch: list[int] = []
            size = 0
            for n, i in enumerate(idx):
                batch.append(i)
                size += sum(len(t) + 1 for t in texts_of[i])
                if size > _FIELD // 2 or n == len(idx) - 1:
                    flat = [t for j in batch for t in texts_of[j]]
                    counts = iter(count_texts(flat, table, chars))
                    for j in batch:
                        got = {t: next(counts) for t in texts_of[j]}
                        memos[j][key] = got
                        memos[j]["letters"] = {t: c.letters for t, c in got.items()}
                    batch, size = [], 0

    def _prefill_dedup(self, rows: list[dict], memos: list[dict]) -> None:
        """Dedup signatures of ``rows``, one batch per language (tokens land in the memos for later gates)."""
        gate = self._gate("dedup")
        for idx in self._by_language(rows).values():
            gate.prefill([rows[i] for i in idx], [self._context(rows[i], "dedup", Counter(), memos[i]) for i in idx])

    def _prefill_lid(self, rows: list[dict], memos: list[dict]) -> None:
        """Language-ID results for every text of ``rows``, one batch per language (memo key ("lid", code))."""
        gate = self._gate("lid")
        for code, idx in self._by_language(rows).items():
            lang = get_language(code, self.registry)
            p = self.config.for_language(lang)["lid"]
            pre = gate.prefill((t for i in idx for _, t in row_texts(rows[i], p["check_persona"],
                                                                    p["check_common_ground"], memos[i])), lang, p)
            for i in idx:
                memos[i][("lid", code)] = pre

    def check_stateless(self, row: dict, memo: dict | None = None) -> tuple[Drop | None, object, Counter]:
        """Run every gate except dedup's admission; returns (drop, dedup signature or None, counters).
        ``memo``: from ``prefill`` (optional)."""
        counters: Counter = Counter()
        if memo is None:
            memo = {}  # tokens and script/letter counts shared by the gates for this row
        signature = None
        for gate in self.gates:
            ctx = self._context(row, gate.name, counters, memo)
            if gate.stateful:
                signature = gate.signature(row, ctx)
                continue
            drop = gate.check(row, ctx)
            if drop is not None:
                return drop, None, counters
        return None, signature, counters

    def admit(self, row: dict, signature) -> Drop | None:
        """Stateful step (dedup) for a row that passed ``check_stateless``."""
        return self.admit_id(row["id"], row["language"], signature)

    def admit_id(self, row_id: str, code: str, signature) -> Drop | None:
        """``admit`` given only the row's id and language (the runner's parent process keeps rows as text)."""
        for gate in self.gates:
            if gate.stateful and signature is not None:
                lang = get_language(code, self.registry)
                ctx = GateContext(lang, self.config.for_language(lang)[gate.name], Counter())
                return gate.admit_id(row_id, signature, ctx)
        return None

    def release(self, code: str) -> None:
        """Every row of language ``code`` has been admitted: drop its dedup state."""
        for gate in self.gates:
            if gate.stateful:
                gate.release(code)

    def record(self, code: str, drop: Drop | None, counters: Counter | None = None) -> None:
        st = self._stats(code)
        st.input += 1
        if drop is None:
            st.kept += 1
        else:
            st.dropped[drop.gate] += 1
        if counters:
            st.skipped_short += counters.get("skipped_short", 0)

    def check(self, row: dict) -> FilterResult:
        drop, signature, counters = self.check_stateless(row)
        if drop is None:
            drop = self.admit(row, signature)
        self.record(row["language"], drop, counters)
        return FilterResult(drop is None, row, drop)

    def stats_dict(self) -> dict:
        return {"config": self.config.to_dict(),
                "languages": {code: st.to_dict() for code, st in sorted(self.stats.items())}}
