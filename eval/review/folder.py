"""The review folder that ``moud review sample`` writes and ``serve`` / ``export`` read::

review.json     manifest: source, languages, seed, rubric fingerprint, raters (token hashes), counts
items.jsonl     one dialogue per line with its stratum, judge scores and assigned raters, in the
                order raters see them
rubric.yaml     a copy of the judge's rubric (the page shows its criteria and 1-5 descriptors)
tokens.tsv      rater, language, access token: a secret for the organiser (mode 0600)
ratings.sqlite  the ratings, created by ``serve`` (mode 0600)
serve.lock      held (flock) by the one ``serve`` running on the folder
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from eval.aggregate import collect, iter_judgments, judgment_files
from eval.review.dataset import check_source, fetch_rows, scan_keys
from eval.review.sampling import assign, item_id, rater_ids, sample_language
from eval.rubric import Criterion, Rubric, load_rubric
from moud_core.atomic import atomic_write_text, staged_folder
from moud_core.errors import MoudError
from moud_core.jsonl import iter_jsonl, write_jsonl_atomic
from moud_core.languages import select_languages

FORMAT = "moud-review"
MANIFEST, ITEMS, RUBRIC, TOKENS, DB = (
    "review.json",
    "items.jsonl",
    "rubric.yaml",
    "tokens.tsv",
    "ratings.sqlite",
)
KIND = "dialogue"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Rater:
    id: str
    language: str
    token_sha256: str
    items: tuple[str, ...]


@dataclass
class ReviewFolder:
    path: Path
    manifest: dict
    rubric: Rubric
    items: dict[str, dict]
    raters: dict[str, Rater]
    by_token: dict[str, str] = field(default_factory=dict)  # token sha256 -> rater id

    @property
    def criteria(self) -> list[Criterion]:
        return self.rubric.for_kind(KIND)

    @property
    def db_path(self) -> Path:
        return self.path / DB


def _write_tokens(path: Path, raters: list[tuple[str, str, str]]) -> None:
    """The organiser's secret: mode 0600 whatever the umask."""
    text = "rater\tlanguage\ttoken\n" + "".join(f"{r}\t{lang}\t{tok}\n" for r, lang, tok in raters)
    atomic_write_text(path, text, private=True)


def _judged(paths: list[Path], rubric: Rubric):
    records = list(iter_judgments(paths))
    versions = {r.get("rubric_version") for r in records if r.get("kind") == KIND}
    if versions - {rubric.version}:
        raise MoudError(
            f"judgments were scored with rubric {', '.join(sorted(map(str, versions)))} but the review "
            f"uses {rubric.source} ({rubric.version}); pass the judge's rubric with --rubric"
        )
    return collect(r for r in records if r["kind"] == KIND)


def create_review(
    out: str | Path,
    dataset: str | Path,
    languages: str,
    per_language: int,
    raters: int,
    raters_per_item: int = 2,
    seed: int = 0,
    rubric_path: str | None = None,
    judgments: list[str] | None = None,
) -> dict:
    """Sample, assign and write a new review folder at ``out``; returns the manifest."""
    out = Path(out)
    if per_language < 1:
        raise MoudError(f"--per-language {per_language}: expected at least 1 item per language")
    if raters < 2:
        raise MoudError(f"--raters {raters}: expected at least 2 raters per language (every item needs 2)")
    if not 2 <= raters_per_item <= raters:
        raise MoudError(f"--raters-per-item {raters_per_item}: expected 2 to --raters ({raters})")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise MoudError(
            f"--out {out}: exists and is not empty; a review folder is never overwritten "
            "(its tokens and ratings would be lost)"
        )
    codes = select_languages(languages, all_means="registered")
    source = check_source(dataset)
    rubric = load_rubric(rubric_path)
    judgment_paths = [Path(p) for p in judgments or []] or (
        [source] if any(source.glob("judgments*.jsonl")) else []
    )
    judged = _judged(judgment_files(judgment_paths), rubric) if judgment_paths else None

    keys = defaultdict(list)
    for k in scan_keys(source, codes):
        if judged is None or (k.generator_model, item_id(k.row_id)) in judged.scores:
            keys[k.language].append(k)
    for lang in codes:
        if not keys[lang]:
            what = "judged dialogues" if judged is not None else "dialogues"
            raise MoudError(f"--languages: no {what} in language {lang!r} under {source}")

    items, tokens, rater_rows, counts = [], [], [], {}
    for lang in codes:
        sampled = sample_language(lang, keys[lang], judged, rubric, per_language, seed)
        ids = rater_ids(lang, raters)
        assignment = assign(len(sampled), ids, raters_per_item, seed)
        rows = fetch_rows(source, [s.key for s in sampled])
        for s, who in zip(sampled, assignment, strict=True):
            row = rows[s.key.row_id]
            items.append(
                {
                    "item_id": item_id(s.key.row_id),
                    "row_id": s.key.row_id,
                    "language": lang,
                    "speech_event": s.key.speech_event,
                    "generator_model": s.key.generator_model,
                    "judge_bucket": s.bucket,
                    "judge_scores": s.judge_scores,
                    "raters": list(who),
                    "persona_a": list(row["persona_a"]),
                    "persona_b": list(row["persona_b"]),
                    "common_ground": row["common_ground"],
                    "turns": [{"speaker": t["speaker"], "text": t["text"]} for t in row["turns"]],
                }
            )
        load = Counter(r for who in assignment for r in who)
        for r in ids:
            token = secrets.token_urlsafe(24)
            tokens.append((r, lang, token))
            rater_rows.append(
                {"id": r, "language": lang, "token_sha256": hash_token(token), "items": load[r]}
            )
        counts[lang] = {
            "available": len(keys[lang]),
            "items": len(sampled),
            "strata": dict(sorted(Counter(f"{s.key.speech_event}|{s.bucket}" for s in sampled).items())),
        }

    manifest = {
        "format": FORMAT,
        "version": 1,
        "dataset": str(source),
        "judgments": [str(p) for p in judgment_paths],
        "languages": codes,
        "per_language": per_language,
        "raters_per_language": raters,
        "raters_per_item": raters_per_item,
        "seed": seed,
        "kind": KIND,
        "rubric": {"version": rubric.version, "fingerprint": rubric.fingerprint(), "file": RUBRIC},
        "counts": counts,
        "raters": rater_rows,
    }
    with staged_folder(out) as tmp:
        write_jsonl_atomic(tmp / ITEMS, items)
        atomic_write_text(tmp / RUBRIC, Path(rubric.source).read_text(encoding="utf-8"))
        _write_tokens(tmp / TOKENS, tokens)
        atomic_write_text(tmp / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")
    return manifest


def load_review(path: str | Path) -> ReviewFolder:
    """Read and check a review folder; a folder that is not one is a one-line error."""
    path = Path(path)
    manifest_file = path / MANIFEST
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise MoudError(
            f"{path}: not a review folder (no readable {MANIFEST}; make one with `moud review sample`)"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise MoudError(f"{manifest_file}: not a review manifest (expected format {FORMAT!r})")
    rubric = load_rubric(path / RUBRIC)
    if rubric.fingerprint() != manifest.get("rubric", {}).get("fingerprint"):
        raise MoudError(f"{path / RUBRIC}: rubric changed since the sample was drawn (fingerprint differs)")
    if not (path / ITEMS).is_file():
        raise MoudError(f"{path}: not a review folder (no {ITEMS})")
    items: dict[str, dict] = {}
    queues: dict[str, list[str]] = defaultdict(list)
    for lineno, rec in iter_jsonl(path / ITEMS):
        if not isinstance(rec, dict) or not isinstance(rec.get("raters"), list) or "item_id" not in rec:
            raise MoudError(f"{path / ITEMS}:{lineno}: expected an item with item_id and raters")
        items[rec["item_id"]] = rec
        for r in rec["raters"]:
            queues[r].append(rec["item_id"])
    raters = {}
    for r in manifest.get("raters", []):
        raters[r["id"]] = Rater(r["id"], r["language"], r["token_sha256"], tuple(queues.get(r["id"], ())))
    folder = ReviewFolder(path, manifest, rubric, items, raters)
    folder.by_token = {r.token_sha256: r.id for r in raters.values()}
    return folder
