"""Dataset statistics that need no LLM, computed per language while streaming the shards.

Per language: dialogues, turns, characters and tokens per turn, distinct-1/2 (script-aware tokens from
``moud_core.text.tokenize``: characters for zh/ja/th, never whitespace words), language-ID
confidence distribution (``metadata.lid_scores``), speech-event and persona-category coverage, and persona
collapse (``moud_core.persona_collapse``: repeated persona sentences, names, places, near-duplicate personas).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from moud_core.languages import load_registry
from moud_core.persona_collapse import PersonaCollapse
from moud_core.taxonomy import load_persona_taxonomy, load_speech_events
from moud_core.text import tokenize

LID_BINS = 100  # histogram of per-turn LID probabilities, width 0.01
MAX_TURN_TOKENS = 200  # turn-length histogram: 0..199 tokens, last bin = 200 or more


def hist_quantile(hist: np.ndarray, q: float, width: float) -> float:
    """Quantile read off a histogram (upper edge of the bin holding it)."""
    total = hist.sum()
    if total == 0:
        return math.nan
    idx = int(np.searchsorted(np.cumsum(hist), q * total, side="left"))
    return min(idx + 1, len(hist)) * width


@dataclass
class LanguageStats:
    language: str
    segmentation: str = "words"
    dialogues: int = 0
    turns: int = 0
    min_turns: int = 0
    max_turns: int = 0
    chars: int = 0
    tokens: int = 0
    ngram_totals: list[int] = field(default_factory=lambda: [0, 0])
    ngram_unique: list[set] = field(default_factory=lambda: [set(), set()])
    vocab: dict[str, int] = field(default_factory=dict)  # token -> id; bigram key = id1 << 32 | id2
    lid_hist: np.ndarray = field(default_factory=lambda: np.zeros(LID_BINS, dtype=np.int64))
    lid_sum: float = 0.0
    turn_len_hist: np.ndarray = field(default_factory=lambda: np.zeros(MAX_TURN_TOKENS + 1, dtype=np.int64))
    speech_events: Counter = field(default_factory=Counter)
    persona_categories: Counter = field(default_factory=Counter)
    persona_subcategories: Counter = field(default_factory=Counter)
    generator_models: Counter = field(default_factory=Counter)
    collapse: PersonaCollapse | None = None

    def __post_init__(self):
        if self.collapse is None:
            self.collapse = PersonaCollapse(self.language)

    def add(self, row: dict) -> None:
        turns = row["turns"]
        self.min_turns = len(turns) if not self.dialogues else min(self.min_turns, len(turns))
        self.max_turns = max(self.max_turns, len(turns))
        self.dialogues += 1
        self.turns += len(turns)
        for turn in turns:
            text = turn["text"]
            toks = tokenize(text, self.segmentation)
            self.chars += len(text)
            self.tokens += len(toks)
            self.turn_len_hist[min(len(toks), MAX_TURN_TOKENS)] += 1
            ids = [self.vocab.setdefault(t, len(self.vocab)) for t in toks]
            self.ngram_totals[0] += len(ids)
            self.ngram_totals[1] += max(0, len(ids) - 1)
            self.ngram_unique[0].update(ids)
            self.ngram_unique[1].update((a << 32) | b for a, b in zip(ids, ids[1:], strict=False))
        meta = row["metadata"]
        for p in meta.get("lid_scores") or []:
            if isinstance(p, (int, float)) and 0.0 <= p <= 1.0:
                self.lid_hist[min(int(p * LID_BINS), LID_BINS - 1)] += 1
                self.lid_sum += p
        self.speech_events[row["speech_event"]] += 1
        for cat in [*(meta.get("persona_a_categories") or []), *(meta.get("persona_b_categories") or [])]:
            self.persona_categories[cat.split("/", 1)[0]] += 1
            self.persona_subcategories[cat] += 1
        self.generator_models[meta.get("generator_model", "")] += 1
        self.collapse.add_row(row)

    def summary(self, n_events: int, n_categories: int, n_subcategories: int) -> dict:
        lid_n = int(self.lid_hist.sum())
        width = 1.0 / LID_BINS
        return {
            "language": self.language,
            "segmentation": self.segmentation,
            "dialogues": self.dialogues,
            "turns": self.turns,
            "turns_per_dialogue": self.turns / self.dialogues if self.dialogues else math.nan,
            "min_turns": self.min_turns,
            "max_turns": self.max_turns,
            "chars_per_turn": self.chars / self.turns if self.turns else math.nan,
            "tokens_per_turn": self.tokens / self.turns if self.turns else math.nan,
            "distinct_1": len(self.ngram_unique[0]) / self.ngram_totals[0]
            if self.ngram_totals[0]
            else math.nan,
            "distinct_2": len(self.ngram_unique[1]) / self.ngram_totals[1]
            if self.ngram_totals[1]
            else math.nan,
            "lid": {
                "turns_scored": lid_n,
                "mean": self.lid_sum / lid_n if lid_n else math.nan,
                "p05": hist_quantile(self.lid_hist, 0.05, width),
                "p25": hist_quantile(self.lid_hist, 0.25, width),
                "median": hist_quantile(self.lid_hist, 0.5, width),
                "share_below_0.5": float(self.lid_hist[: LID_BINS // 2].sum() / lid_n) if lid_n else math.nan,
                "histogram": self.lid_hist.tolist(),
            },
            "turn_tokens_histogram": self.turn_len_hist.tolist(),
            "speech_events": dict(sorted(self.speech_events.items())),
            "speech_event_coverage": len(self.speech_events) / n_events if n_events else math.nan,
            "persona_categories": dict(sorted(self.persona_categories.items())),
            "persona_category_coverage": len(self.persona_categories) / n_categories
            if n_categories
            else math.nan,
            "persona_subcategory_coverage": (
                len(self.persona_subcategories) / n_subcategories if n_subcategories else math.nan
            ),
            "generator_models": dict(sorted(self.generator_models.items())),
            "persona_collapse": self.collapse.summary(),
        }


def compute_stats(rows: Iterable[dict], progress=None, by_model: bool = False) -> dict:
    """{"languages": {code: summary}, "taxonomy": {...}} from a stream of rows; with ``by_model`` the
    groups are ``"<code> · <generator model>"``."""
    registry = load_registry()
    events = load_speech_events()
    taxonomy = load_persona_taxonomy()
    n_sub = sum(len(v) for v in taxonomy.values())
    per_lang: dict[str, LanguageStats] = {}
    for row in rows:
        lang = row["language"]
        key = f"{lang} · {row['metadata']['generator_model']}" if by_model else lang
        if key not in per_lang:
            seg = registry[lang].segmentation if lang in registry else "words"
            per_lang[key] = LanguageStats(lang, seg)
        per_lang[key].add(row)
        if progress is not None:
            progress.update(1)
    return {
        "taxonomy": {
            "speech_events": len(events),
            "persona_categories": len(taxonomy),
            "persona_subcategories": n_sub,
        },
        "languages": {
            lang: s.summary(len(events), len(taxonomy), n_sub) for lang, s in sorted(per_lang.items())
        },
    }
