"""The LID gate's inline prefill: one batch of predictions for many texts, which each check then reads."""

from __future__ import annotations

import pytest

from generation.testing.crowdworker import BANK
from moud_gates.inline import TextGates


@pytest.mark.parametrize("lang", ["fr", "zh"])  # zh: also_accept labels, so no sure shortcut
def test_checks_read_the_prefilled_predictions_and_decide_the_same(lang, monkeypatch):
    gates = TextGates.from_config()
    utts = list(BANK[lang]["utterance"])
    texts = utts + [f"{u} (I faint when I see blood)" for u in utts[:10]]
    texts += ["I really love going to the beach with my dog every weekend.", "ok"]
    alone = [gates.check(lang, "turns[1]", t) for t in texts]
    assert any(d is not None and d.gate == ("lid" if lang == "fr" else "script") for d in alone)
    memo = gates.prefill(lang, texts)
    lid = next(g for g in gates.gates if g.name == "lid")

    def no_model_call(*_args, **_kwargs):
        raise AssertionError("predicted again after the prefill")

    monkeypatch.setattr(lid.model, "sure_top1", no_model_call)
    monkeypatch.setattr(lid.model, "predict_map", no_model_call)
    batched = [gates.check(lang, "turns[1]", t, memo=memo) for t in texts]
    assert [d and (d.gate, d.reason, d.scores) for d in batched] == [
        d and (d.gate, d.reason, d.scores) for d in alone
    ]
