"""A scripted LLM judge for the loopback OpenAI server: answers ``moud judge`` prompts in the rubric's JSON
format with deterministic scores computed from the judged text, so ``moud report``, judge-stratified
``moud review sample`` and ``moud agreement`` show real variation offline. It is not a judge of quality.

Per item (the text between two ``### Item id:`` headers), from the text alone:

- ``lid``: mean language-ID probability of the target language over the item's lines (fastText lid.176,
  as the gates read it);
- ``distinct``: distinct-2 of the item's script-aware tokens (1.0: no bigram repeated);
- ``repeats``: share of the item's lines that repeat an earlier line exactly;
- ``overlap``: for dialogues and common grounds, share of the persona words (4+ letters) used in the text;
- ``length``: mean tokens per line, scored against a comfortable 6-30 range.

Criteria get 1-5 from these (``_SCORES``); a criterion it does not know gets the mean of the others. A
text-hash draw moves about a quarter of the scores by one point, as a real judge's noise would, and the
same text always gets the same scores. ``toxicity`` (lower is better) is 1 unless the text repeats itself.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re

from moud_core.languages import load_registry
from moud_core.text import ngrams, tokenize

ITEM_HEADER = "### Item id: "
_SCORE_KEY = re.compile(r'"(\w+)": <1-5>')
_NATIVE = re.compile(r"native speaker of (.+?) \(")
_LINE_PREFIX = re.compile(r"^(?:- |[AB]: )")


def is_judge_prompt(text: str) -> bool:
    """Whether a request is a ``moud judge`` prompt (its items carry ``### Item id:`` headers)."""
    return ITEM_HEADER in text and '"items": [' in text


@functools.lru_cache(maxsize=1)
def _lid():
    from moud_gates.lid.model import LidModel

    return LidModel()


def _h(*parts) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()[:8], "big")


def _clamp(x: float) -> int:
    return max(1, min(5, int(round(x))))


def _sections(body: str) -> dict[str, list[str]]:
    """The item's lines by the block heading they follow (``Dialogue:``, ``Persona of A:``, ...)."""
    out: dict[str, list[str]] = {"": []}
    head = ""
    for line in body.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.endswith(":") and not _LINE_PREFIX.match(stripped):
            head = stripped[:-1].lower()
            out.setdefault(head, [])
        elif stripped.lower().startswith("common ground:"):
            out.setdefault("common ground", []).append(stripped.split(":", 1)[1].strip())
        else:
            out.setdefault(head, []).append(_LINE_PREFIX.sub("", stripped))
    return out


def item_features(body: str, lang_code: str, segmentation: str, lid_label: str) -> dict[str, float]:
    """The features of one item block (see the module docstring)."""
    sec = _sections(body)
    if "dialogue" in sec:
        judged = sec["dialogue"]
        context = [s for k, v in sec.items() if k.startswith("persona") for s in v]
    elif "common ground (premise of their conversation)" in sec:
        judged = sec["common ground (premise of their conversation)"]
        context = sec.get("person 1", []) + sec.get("person 2", [])
    else:
        judged = [s for k, v in sec.items() if k.startswith("persona") for s in v] or sec[""]
        context = []
    judged = [t for t in judged if t] or [""]
    probs = []
    for preds in _lid().predict(judged, 5):
        probs.append(next((p for label, p in preds if label == lid_label), 0.0))
    tokens = [tokenize(t.lower(), segmentation) for t in judged]
    bigrams = [g for toks in tokens for g in ngrams(toks, 2)]
    words = {w for s in context for w in tokenize(s.lower(), segmentation) if len(w) >= 4}
    used = {w for toks in tokens for w in toks}
    return {
        "lid": sum(probs) / len(probs),
        "distinct": len(set(bigrams)) / len(bigrams) if bigrams else 1.0,
        "repeats": 1 - len(set(judged)) / len(judged),
        "overlap": len(words & used) / len(words) if words else 0.5,
        "length": sum(map(len, tokens)) / len(tokens),
    }


def _length_score(n: float) -> float:
    return 5.0 if 6 <= n <= 30 else 3.0 if 3 <= n <= 60 else 1.5


_SCORES = {
    "fluency": lambda f: 1 + 4 * f["lid"],
    "language_specificity": lambda f: 0.5 * (1 + 4 * f["lid"]) + 0.5 * _length_score(f["length"]),
    "humanness": lambda f: 1 + 4 * f["distinct"] * (1 - f["repeats"]),
    "coherence": lambda f: 1 + 2.5 * (1 - f["repeats"]) + 1.5 * min(1.0, 2 * f["overlap"]),
    "taxonomy_relevance": lambda f: 1 + 4 * min(1.0, 0.5 + f["overlap"]),
    "toxicity": lambda f: 1 + 2 * f["repeats"],
}


def item_scores(item_id: str, body: str, keys: list[str], features: dict[str, float]) -> dict[str, int]:
    """1-5 scores for ``keys``: from the features, then the text-hash noise."""
    known = {k: _SCORES[k](features) for k in keys if k in _SCORES}
    mean = sum(known.values()) / len(known) if known else 3.0
    out = {}
    for k in keys:
        raw = known.get(k, mean)
        draw = _h(k, body) % 8
        out[k] = _clamp(raw + (1 if draw == 0 else -1 if draw == 1 else 0))
    return out


class ScriptedJudge:
    """Responder for judge prompts (``is_judge_prompt``); returns the JSON answer text."""

    def __init__(self):
        self.registry = load_registry()
        self.by_name = {lang.name: lang for lang in self.registry.values()}

    def __call__(self, system: str, user: str) -> str:
        m = _NATIVE.search(system)
        lang = self.by_name.get(m.group(1)) if m else None
        code = lang.code if lang else "en"
        seg = lang.segmentation if lang else "words"
        label = lang.lid_label if lang else "en"
        keys = _SCORE_KEY.findall(user)
        head, _, rest = user.partition(ITEM_HEADER)
        items = []
        for block in rest.split("\n" + ITEM_HEADER):
            item_id, _, body = block.partition("\n")
            body = body.split("\n\nCriteria", 1)[0]
            f = item_features(body, code, seg, label)
            rationale = (
                f"scripted judge: language-ID {f['lid']:.2f}, distinct-2 {f['distinct']:.2f}, "
                f"repeated lines {f['repeats']:.2f}, persona words used {f['overlap']:.2f}"
            )
            items.append(
                {"id": item_id.strip(), "scores": item_scores(item_id, body, keys, f), "rationale": rationale}
            )
        return json.dumps({"items": items}, ensure_ascii=False)
