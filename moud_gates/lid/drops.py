"""The drop record (reason and scores) of a text that failed a language-ID rule."""

from __future__ import annotations

from moud_gates.base import Drop, GateContext, clip
from moud_gates.lid.rules import Failure


def failure_drop(gate: str, where: str, text: str, failure: Failure, ctx: GateContext) -> Drop:
    """The Drop of gate ``gate`` for ``text`` (field ``where``) failing with ``failure``."""
    p, lang = ctx.params, ctx.lang
    kind, target, pred, extra, segment = failure
    k = int(p["top_k"])
    top = ", ".join(f"{lab} {prob:.2f}" for lab, prob in pred[:k])
    if kind in ("english_turn", "english_segment"):
        why = f"{extra['english_share']:.0%} English function words, top label {pred[0][0]} {pred[0][1]:.2f}"
    elif kind in ("foreign_top1", "foreign_segment"):
        floor = p["foreign_min_prob"] if kind == "foreign_top1" else p["segment_min_prob"]
        why = f"top label {pred[0][0]} {pred[0][1]:.2f} >= {floor}, {lang.lid_label} only {target:.2f}"
    else:
        why = f"{lang.lid_label} not in top-{k} above {p['min_prob']}"
    scores = {
        "field": where,
        "kind": kind,
        "target_prob": round(target, 4),
        "top": [[lab, round(prob, 4)] for lab, prob in pred[:k]],
        **extra,
    }
    if segment is not None:
        scores["segment"] = segment[1]
        where_text = f"{segment[0]} {clip(segment[1], 60)!r}"
        return Drop(
            gate,
            f"{where}: {where_text} is not {lang.lid_label}: {why} (got {top}) (in {clip(text, 40)!r})",
            scores,
        )
    label = "English turn: " if kind == "english_turn" else ""
    return Drop(gate, f"{where}: {label}{why} (got {top}) ({clip(text, 40)!r})", scores)
