"""Agreement between the LLM judge and human ratings.

Human ratings CSV: columns ``item_id, rater, criterion, score`` (extra columns ignored; an optional
``generator_model`` column disambiguates item ids judged for several models). Per criterion and language
(and ``all``): Pearson and Spearman between the judge and the mean human score; quadratically weighted
Cohen's kappa of the judge against the rounded mean and the majority human score, and between pairs of
raters; Krippendorff's alpha (interval and ordinal) among human raters; each with its number of items.
The judge-vs-mean kappa and the Spearman correlation come with seeded percentile bootstrap CIs (items
resampled), and ``judge_trust`` turns them into a verdict per language and criterion.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from eval.aggregate import ItemScores
from eval.reliability import (
    correlations,
    kappa_bootstrap_ci,
    krippendorff_alpha,
    spearman_bootstrap_ci,
    weighted_kappa,
)
from eval.rubric import LEVELS, Rubric
from moud_core.errors import MoudError
from moud_core.seeds import derive_seed

REQUIRED_COLUMNS = ("item_id", "rater", "criterion", "score")
TRUST = ("trusted", "uncertain", "not trusted", "too few items")


@dataclass(frozen=True)
class Rating:
    key: tuple[str, str]  # (generator model, item id) as in ItemScores
    language: str
    rater: str
    criterion: str
    score: int


def round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def majority(scores: list[int]) -> int:
    """Most frequent score; ties broken by the rounded median of the tied scores."""
    counts = Counter(scores)
    top = max(counts.values())
    tied = sorted(s for s, c in counts.items() if c == top)
    return tied[0] if len(tied) == 1 else round_half_up(statistics.median(tied))


def _read_text(path: Path) -> str:
    """A ratings file as text: UTF-8 (with or without a byte-order mark) or UTF-16 with its byte-order mark,
    as spreadsheet programs save "Unicode text"."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MoudError(f"{path}: cannot read ({exc.strerror})") from None
    encoding = "utf-16" if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise MoudError(
            f"{path}:{line}: not UTF-8 or UTF-16 text (byte {exc.start + 1}); save the CSV as UTF-8"
        ) from None


def read_ratings(path: str | Path, items: ItemScores, rubric: Rubric) -> list[Rating]:
    """Parse and validate the CSV against the judged items and the rubric (errors name the line)."""
    path = Path(path)
    index: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key in items.info:
        index[key[1]].append(key)
    text = _read_text(path)
    ratings: list[Rating] = []
    seen: dict[tuple, int] = {}
    with io.StringIO(text, newline="") as fh:
        first = text.split("\n", 1)[0]
        delimiter = max(
            ",\t;", key=first.count
        )  # spreadsheets export commas, tabs ("Unicode text") or semicolons
        reader = csv.DictReader(fh, delimiter=delimiter)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise MoudError(
                f"{path}:1: header: missing column(s) {', '.join(missing)}; expected "
                f"{', '.join(REQUIRED_COLUMNS)}"
            )
        for row in reader:
            line = reader.line_num
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
            item_id, rater, criterion, raw = (row.get(c, "") for c in REQUIRED_COLUMNS)
            if not item_id or not rater:
                raise MoudError(f"{path}:{line}: item_id and rater must not be empty")
            keys = index.get(item_id, [])
            if row.get("generator_model"):
                keys = [k for k in keys if k[0] == row["generator_model"]]
            if not keys:
                raise MoudError(f"{path}:{line}: unknown item_id {item_id!r}: not among the judged items")
            if len(keys) > 1:
                raise MoudError(
                    f"{path}:{line}: item_id {item_id!r} was judged for several generator models; "
                    "add a generator_model column"
                )
            if criterion not in rubric.names:
                raise MoudError(
                    f"{path}:{line}: unknown criterion {criterion!r}; expected one of "
                    f"{', '.join(rubric.names)}"
                )
            try:
                score = float(raw)
            except ValueError:
                score = math.nan
            if math.isnan(score) or score != int(score) or not LEVELS[0] <= score <= LEVELS[-1]:
                raise MoudError(
                    f"{path}:{line}: score {raw!r} is off the scale; expected an integer "
                    f"{LEVELS[0]}-{LEVELS[-1]}"
                )
            dup = (keys[0], rater, criterion)
            if dup in seen:
                raise MoudError(
                    f"{path}:{line}: duplicate rating of {item_id!r} / {criterion} by rater {rater!r} "
                    f"(first on line {seen[dup]})"
                )
            seen[dup] = line
            ratings.append(Rating(keys[0], items.info[keys[0]][0], rater, criterion, int(score)))
    if not ratings:
        raise MoudError(f"{path}: no ratings")
    return ratings


def _figures(judge: dict[tuple, float], humans: dict[tuple, dict[str, int]], seed: int, n_boot: int) -> dict:
    keys = sorted(humans)
    both = [k for k in keys if k in judge]
    j = [judge[k] for k in both]
    h_mean = [statistics.fmean(humans[k].values()) for k in both]
    pearson, spearman = correlations(j, h_mean)
    j_round = [min(LEVELS[-1], max(LEVELS[0], round_half_up(x))) for x in j]
    h_round = [round_half_up(x) for x in h_mean]
    kappa_mean = weighted_kappa(j_round, h_round) if both else math.nan
    kappa_ci = kappa_bootstrap_ci(j_round, h_round, derive_seed(seed, "kappa"), n_boot)
    spearman_ci = (
        (math.nan, math.nan)
        if math.isnan(spearman)
        else spearman_bootstrap_ci(j, h_mean, derive_seed(seed, "spearman"), n_boot)
    )
    kappa_major = (
        weighted_kappa(j_round, [majority(list(humans[k].values())) for k in both]) if both else math.nan
    )
    raters = sorted({r for k in keys for r in humans[k]})
    pair_kappas, pair_items = [], 0
    for a, b in itertools.combinations(raters, 2):
        shared = [k for k in keys if a in humans[k] and b in humans[k]]
        if len(shared) >= 2:
            kappa = weighted_kappa([humans[k][a] for k in shared], [humans[k][b] for k in shared])
            if not math.isnan(kappa):
                pair_kappas.append(kappa)
                pair_items += len(shared)
    units = [[humans[k].get(r) for r in raters] for k in keys]
    multi = sum(1 for k in keys if len(humans[k]) >= 2)
    return {
        "n_items_judge_human": len(both),
        "pearson": pearson,
        "spearman": spearman,
        "spearman_ci_low": spearman_ci[0],
        "spearman_ci_high": spearman_ci[1],
        "kappa_judge_vs_mean": kappa_mean,
        "kappa_ci_low": kappa_ci[0],
        "kappa_ci_high": kappa_ci[1],
        "kappa_judge_vs_majority": kappa_major,
        "n_raters": len(raters),
        "n_rater_pairs": len(pair_kappas),
        "kappa_raters_pairwise_mean": statistics.fmean(pair_kappas) if pair_kappas else math.nan,
        "n_items_rater_pairs": pair_items,
        "n_items_multi_rated": multi,
        "alpha_interval": krippendorff_alpha(units, "interval"),
        "alpha_ordinal": krippendorff_alpha(units, "ordinal"),
    }


def human_scores(ratings: list[Rating]) -> dict[tuple[str, str], dict[tuple, dict[str, int]]]:
    """(criterion, language or "all") -> item key -> rater -> score."""
    humans: dict[tuple[str, str], dict[tuple, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for r in ratings:
        for lang in (r.language, "all"):
            humans[(r.criterion, lang)][r.key][r.rater] = r.score
    return humans


def judge_vs_human(ratings: list[Rating], items: ItemScores) -> dict[str, dict[str, tuple[list, list]]]:
    """language -> criterion -> (judge scores, mean human scores) over the items both scored."""
    out: dict[str, dict[str, tuple[list, list]]] = defaultdict(dict)
    for (criterion, lang), per_item in sorted(human_scores(ratings).items()):
        both = [k for k in sorted(per_item) if criterion in items.scores.get(k, {})]
        if lang != "all" and both:
            out[lang][criterion] = (
                [items.scores[k][criterion] for k in both],
                [statistics.fmean(per_item[k].values()) for k in both],
            )
    return dict(out)


def agreement(ratings: list[Rating], items: ItemScores, seed: int = 0, n_boot: int = 1000) -> list[dict]:
    """One row per (criterion, language) plus language "all"."""
    rows = []
    for (criterion, lang), per_item in sorted(
        human_scores(ratings).items(), key=lambda kv: (kv[0][0], kv[0][1] == "all", kv[0][1])
    ):
        judge = {k: items.scores[k][criterion] for k in per_item if criterion in items.scores.get(k, {})}
        rows.append(
            {
                "criterion": criterion,
                "language": lang,
                "n_items_rated": len(per_item),
                **_figures(judge, per_item, derive_seed(seed, criterion, lang), n_boot),
            }
        )
    return rows


def judge_trust(row: dict, kappa_min: float = 0.4, min_items: int = 10) -> str:
    """Whether the judge can stand in for native speakers on one (criterion, language) row: "trusted" when
    the whole kappa CI is at or above ``kappa_min``, "not trusted" when the kappa itself is below it,
    "uncertain" in between, "too few items" under ``min_items`` items scored by both or without a kappa."""
    kappa = row["kappa_judge_vs_mean"]
    if row["n_items_judge_human"] < min_items or math.isnan(kappa):
        return TRUST[3]
    if kappa < kappa_min:
        return TRUST[2]
    return TRUST[0] if row["kappa_ci_low"] >= kappa_min else TRUST[1]
