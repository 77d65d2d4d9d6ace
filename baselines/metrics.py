"""Response-selection and generation metrics: hits@1, perplexity, bits per byte, ROUGE-L (script-aware
tokens), BERTScore (one fixed multilingual model for every language)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from moud_core.errors import MoudError
from moud_core.text import tokenize

DEFAULT_BERTSCORE_MODEL = "bert-base-multilingual-cased"
DEFAULT_BERTSCORE_LAYER = 9


def hits_at_1(scores: Sequence[Sequence[float]], labels: Sequence[int]) -> float:
    """Share of turns whose highest-scoring candidate is the gold (ties go to the first candidate)."""
    if len(scores) != len(labels):
        raise ValueError("hits_at_1: scores and labels differ in length")
    if not labels:
        return float("nan")
    hits = sum(1 for s, y in zip(scores, labels, strict=True) if max(range(len(s)), key=s.__getitem__) == y)
    return hits / len(labels)


def perplexity(total_nll: float, num_tokens: int) -> float:
    """exp(mean token NLL in nats)."""
    return math.exp(total_nll / num_tokens) if num_tokens else float("nan")


def bits_per_byte(total_nll: float, num_bytes: int) -> float:
    """Total NLL in nats / ln 2 / UTF-8 bytes: comparable across languages and tokenizers."""
    return total_nll / math.log(2) / num_bytes if num_bytes else float("nan")


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


class ScriptTokenizer:
    """rouge_score tokenizer backed by moud_core.text.tokenize (characters for zh/ja/th)."""

    def __init__(self, segmentation: str = "words"):
        self.segmentation = segmentation

    def tokenize(self, text: str) -> list[str]:
        return tokenize(text, self.segmentation)


def rouge_l(
    predictions: Sequence[str], references: Sequence[str], segmentation: str = "words"
) -> list[float]:
    """Per-pair ROUGE-L F1 with the script-aware tokenizer (never rouge_score's ASCII default)."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=ScriptTokenizer(segmentation))
    return [
        scorer.score(ref, pred)["rougeL"].fmeasure for pred, ref in zip(predictions, references, strict=True)
    ]


def check_bertscore_model(model: str) -> None:
    """Raise a clear MoudError when the BERTScore model cannot be loaded offline."""
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(model, local_files_only=True)
    except (OSError, ValueError):
        raise MoudError(
            f"BERTScore model {model!r} is not available offline; pass --bertscore-model DIR "
            "(a local BERT-style model folder) or --no-bertscore"
        ) from None


def resolve_bertscore(opts: dict) -> str | None:
    """Fill the evaluation options' BERTScore model and layer (None when skipped). When the model is not
    available offline BERTScore is not computed: the model is set to None and the reason returned (checked
    now, before hours of scoring)."""
    if opts.get("no_bertscore") or opts.get("no_generate"):
        opts["bertscore_model"] = None
        return None
    opts["bertscore_model"] = opts.get("bertscore_model") or DEFAULT_BERTSCORE_MODEL
    opts["bertscore_layer"] = opts.get("bertscore_layer") or DEFAULT_BERTSCORE_LAYER
    try:
        check_bertscore_model(opts["bertscore_model"])
    except MoudError as exc:
        opts["bertscore_model"] = None
        return str(exc)
    return None


def bertscore_f1(
    predictions: Sequence[str],
    references: Sequence[str],
    model: str = DEFAULT_BERTSCORE_MODEL,
    layer: int = DEFAULT_BERTSCORE_LAYER,
    batch_size: int = 32,
    device: str | None = None,
) -> list[float]:
    """Per-pair BERTScore F1 (no idf, no baseline rescaling) with ``model`` at hidden layer ``layer``."""
    check_bertscore_model(model)
    if not predictions:
        return []
    key = (model, layer, device)
    if key not in _SCORERS:
        import bert_score

        _SCORERS.clear()
        _SCORERS[key] = bert_score.BERTScorer(
            model_type=model, num_layers=layer, batch_size=batch_size, device=device
        )
    _, _, f1 = _SCORERS[key].score(list(predictions), list(references), verbose=False)
    return [float(x) for x in f1]


_SCORERS: dict = {}
