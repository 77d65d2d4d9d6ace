"""Export a review folder's ratings as the CSV that ``moud agreement --ratings`` reads
(``item_id,rater,criterion,score,generator_model,language``) and its skips and "not my language" marks
as a second CSV; marks never become scores."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from eval.review.folder import ReviewFolder
from eval.review.store import MARKS, Store
from moud_core.atomic import atomic_open
from moud_core.errors import MoudError

RATING_COLUMNS = ("item_id", "rater", "criterion", "score", "generator_model", "language")
MARK_COLUMNS = ("item_id", "rater", "mark", "language")


def _write_csv(path: Path, header, rows) -> None:
    with atomic_open(path, "w", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def export_ratings(folder: ReviewFolder, out: str | Path, marks_out: str | Path) -> dict:
    """Write both CSVs; returns counts per language: ratings, raters, items, complete items, marks."""
    if not folder.db_path.is_file():
        raise MoudError(
            f"{folder.path}: no ratings yet ({folder.db_path.name} is made by `moud review serve`)"
        )
    store = Store(folder.db_path)
    try:
        ratings, marks = store.all_ratings(), store.all_marks()
    finally:
        store.close()
    items = folder.items
    known = [
        r for r in ratings if r[0] in items and r[1] in items[r[0]]["raters"] and r[2] in folder.rubric.names
    ]
    _write_csv(
        Path(out),
        RATING_COLUMNS,
        ((i, rater, c, s, items[i]["generator_model"], items[i]["language"]) for i, rater, c, s in known),
    )
    _write_csv(
        Path(marks_out),
        MARK_COLUMNS,
        ((i, rater, m, items[i]["language"]) for i, rater, m in marks if i in items),
    )
    full = len(folder.criteria)
    per_pair = Counter((i, rater) for i, rater, _, _ in known)
    counts: dict[str, dict] = {}
    for lang in folder.manifest["languages"]:
        mine = [r for r in known if items[r[0]]["language"] == lang]
        lang_marks = Counter(m for i, _, m in marks if i in items and items[i]["language"] == lang)
        counts[lang] = {
            "ratings": len(mine),
            "raters": len({r[1] for r in mine}),
            "items": len({r[0] for r in mine}),
            "complete": sum(
                1 for (i, _), n in per_pair.items() if n >= full and items[i]["language"] == lang
            ),
            **{m: lang_marks.get(m, 0) for m in MARKS},
        }
    return counts
