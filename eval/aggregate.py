"""Aggregation of judge records: per-item scores, means with bootstrap CIs, win rates, failure rates,
and judge consistency across position-swapped repeats."""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from eval.reliability import bootstrap_ci, weighted_kappa
from eval.rubric import LEVELS, Rubric
from moud_core.errors import MoudError
from moud_core.jsonl import iter_jsonl
from moud_core.seeds import derive_seed

ALL_KINDS = "all"
OVERALL = "overall"
_REQUIRED = ("item_id", "language", "generator_model", "kind", "status", "scores", "repeat")


def judgment_files(paths: Iterable[str | Path]) -> list[Path]:
    files = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.glob("judgments*.jsonl")) or sorted(p.glob("*/judgments*.jsonl"))
            if not found:
                raise MoudError(f"{p}: no judgments*.jsonl file in this folder")
            files += found
        elif p.is_file():
            files.append(p)
        else:
            raise MoudError(f"{p}: no such judgments file or folder")
    return files


def iter_judgments(paths: Iterable[str | Path]) -> Iterator[dict]:
    """Judge records from files/folders; a record missing a field or with a value of the wrong kind raises
    ``file:line: ...``."""
    for f in judgment_files(paths):
        for lineno, rec in iter_jsonl(f):
            problem = record_problem(rec)
            if problem:
                raise MoudError(f"{f}:{lineno}: {problem}")
            yield rec


def record_problem(rec: dict) -> str | None:
    """What is wrong with one judge record (None when nothing is)."""
    missing = [k for k in _REQUIRED if k not in rec]
    if missing:
        return f"judgment record missing field(s) {', '.join(missing)}"
    for key in ("item_id", "language", "generator_model", "kind"):
        if not isinstance(rec[key], str):
            return f"field {key!r}: expected a string, got {rec[key]!r}"
    if rec["status"] not in ("ok", "failed"):
        return f"field 'status': expected 'ok' or 'failed', got {rec['status']!r}"
    if not isinstance(rec["repeat"], int) or isinstance(rec["repeat"], bool) or rec["repeat"] < 0:
        return f"field 'repeat': expected an integer >= 0, got {rec['repeat']!r}"
    if rec["status"] != "ok":
        return None
    if not isinstance(rec["scores"], dict) or not rec["scores"]:
        return f"field 'scores': expected a mapping of criterion -> score (status ok), got {rec['scores']!r}"
    for name, value in rec["scores"].items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value not in LEVELS:
            return f"field 'scores.{name}': expected a score {LEVELS[0]}-{LEVELS[-1]}, got {value!r}"
    return None


@dataclass
class ItemScores:
    """Mean score per (generator model, item id, criterion) over the item's successful repeats."""

    scores: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    info: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # key -> (language, kind)
    records: Counter = field(default_factory=Counter)  # (lang, model, status)
    reasons: Counter = field(default_factory=Counter)  # (lang, model, reason)
    repeats: dict[tuple[str, str], dict[int, dict[str, int]]] = field(default_factory=dict)
    judge_models: Counter = field(default_factory=Counter)

    def add(self, rec: dict) -> None:
        self.judge_models[rec.get("judge_model", "")] += 1
        key = (rec["generator_model"], rec["item_id"])
        lang, model = rec["language"], rec["generator_model"]
        self.records[(lang, model, rec["status"])] += 1
        if rec["status"] != "ok" or not rec["scores"]:
            self.reasons[(lang, model, rec.get("failure_reason") or "unknown")] += 1
            return
        self.info[key] = (lang, rec["kind"])
        self.repeats.setdefault(key, {})[int(rec["repeat"])] = rec["scores"]

    def finalize(self) -> ItemScores:
        for key, reps in self.repeats.items():
            names = sorted({n for s in reps.values() for n in s})
            self.scores[key] = {n: float(np.mean([s[n] for s in reps.values() if n in s])) for n in names}
        return self


def collect(records: Iterable[dict], single_judge: bool = True) -> ItemScores:
    """Per-item scores from judge records; with ``single_judge`` records from several judge models are
    refused (their scores would be pooled)."""
    acc = ItemScores()
    for rec in records:
        acc.add(rec)
    if single_judge and len(acc.judge_models) > 1:
        names = ", ".join(sorted(m or "(unnamed)" for m in acc.judge_models))
        raise MoudError(f"judgments come from several judge models ({names}); aggregate one judge at a time")
    return acc.finalize()


def _overall(scores: dict[str, float], rubric: Rubric) -> float:
    known = [rubric.get(n).oriented(v) for n, v in scores.items() if n in rubric.names]
    return float(np.mean(known)) if known else math.nan


def means(items: ItemScores, rubric: Rubric, seed: int = 0, n_boot: int = 1000) -> list[dict]:
    """Rows {language, generator_model, kind, criterion, n, mean, ci_low, ci_high}; kind "all" pools
    the item kinds; criterion "overall" is the mean of higher-is-better-oriented criterion scores."""
    cells: dict[tuple, list[float]] = defaultdict(list)
    for key, scores in items.scores.items():
        model = key[0]
        lang, kind = items.info[key]
        for name, value in [*scores.items(), (OVERALL, _overall(scores, rubric))]:
            if isinstance(value, float) and math.isnan(value):
                continue
            cells[(lang, model, kind, name)].append(value)
            cells[(lang, model, ALL_KINDS, name)].append(value)
    rows = []
    for (lang, model, kind, name), values in sorted(cells.items()):
        lo, hi = bootstrap_ci(values, derive_seed(seed, "bootstrap", lang, model, kind, name), n_boot)
        rows.append(
            {
                "language": lang,
                "generator_model": model,
                "kind": kind,
                "criterion": name,
                "n": len(values),
                "mean": float(np.mean(values)),
                "ci_low": lo,
                "ci_high": hi,
            }
        )
    return rows


def win_rates(items: ItemScores, rubric: Rubric, mean_rows: list[dict] | None = None) -> list[dict]:
    """Pairwise win rates between generator models, per criterion and overall (higher-is-better axis).

    Items judged for both models (same item id, e.g. runs with the same seed) are compared item by item
    (basis "items"); otherwise per-language means are compared (basis "languages").
    win_rate = (wins + ties / 2) / n.
    """
    models = sorted({m for m, _ in items.scores})
    by_model: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    for (model, item_id), scores in items.scores.items():
        by_model[model][item_id] = {
            **{n: rubric.get(n).oriented(v) for n, v in scores.items() if n in rubric.names},
            OVERALL: _overall(scores, rubric),
        }
    if mean_rows is None:
        mean_rows = means(items, rubric, n_boot=1)
    lang_means: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)
    for r in mean_rows:
        if r["kind"] == ALL_KINDS:
            value = r["mean"] if r["criterion"] == OVERALL else rubric.get(r["criterion"]).oriented(r["mean"])
            lang_means[(r["generator_model"], r["language"])][r["criterion"]] = value
    rows = []
    for a, b in itertools.combinations(models, 2):
        shared = sorted(set(by_model[a]) & set(by_model[b]))
        for name in [*rubric.names, OVERALL]:
            if shared:
                pairs = [(by_model[a][i].get(name), by_model[b][i].get(name)) for i in shared]
                basis = "items"
            else:
                langs = sorted(
                    {lg for (m, lg) in lang_means if m == a} & {lg for (m, lg) in lang_means if m == b}
                )
                pairs = [(lang_means[(a, lg)].get(name), lang_means[(b, lg)].get(name)) for lg in langs]
                basis = "languages"
            pairs = [
                (x, y)
                for x, y in pairs
                if x is not None and y is not None and not (math.isnan(x) or math.isnan(y))
            ]
            if not pairs:
                continue
            wins = sum(x > y for x, y in pairs)
            ties = sum(x == y for x, y in pairs)
            rows.append(
                {
                    "model_a": a,
                    "model_b": b,
                    "criterion": name,
                    "basis": basis,
                    "n": len(pairs),
                    "wins_a": wins,
                    "ties": ties,
                    "wins_b": len(pairs) - wins - ties,
                    "win_rate_a": (wins + ties / 2) / len(pairs),
                }
            )
    return rows


def failure_rates(items: ItemScores) -> list[dict]:
    keys = sorted({(lang, model) for lang, model, _ in items.records})
    rows = []
    for lang, model in keys:
        ok, failed = items.records[(lang, model, "ok")], items.records[(lang, model, "failed")]
        reasons = {r: n for (lg, m, r), n in sorted(items.reasons.items()) if (lg, m) == (lang, model)}
        total = ok + failed
        rows.append(
            {
                "language": lang,
                "generator_model": model,
                "records": total,
                "failed": failed,
                "failure_rate": failed / total if total else math.nan,
                "reasons": reasons,
            }
        )
    return rows


def consistency(items: ItemScores, rubric: Rubric) -> list[dict]:
    """Judge consistency between repeat 0 and each later (position-swapped for odd) repeat, per criterion:
    exact agreement, mean absolute difference and quadratic kappa over items with both repeats."""
    pairs: dict[tuple[int, str], tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for reps in items.repeats.values():
        if 0 not in reps:
            continue
        for r, scores in reps.items():
            if r == 0:
                continue
            for name, value in scores.items():
                if name in reps[0]:
                    first, other = pairs[(r, name)]
                    first.append(int(reps[0][name]))
                    other.append(int(value))
    rows = []
    for (r, name), (x, y) in sorted(pairs.items()):
        rows.append(
            {
                "repeat": r,
                "swapped": r % 2 == 1,
                "criterion": name,
                "n": len(x),
                "exact_agreement": float(np.mean([a == b for a, b in zip(x, y, strict=True)])),
                "mean_abs_diff": float(np.mean([abs(a - b) for a, b in zip(x, y, strict=True)])),
                "kappa_quadratic": weighted_kappa(x, y),
            }
        )
    return rows
