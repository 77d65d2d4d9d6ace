"""Acceptance on XPersona validation dialogues: the real ones (../shared/data/xpersona) when present, else the
small XPersona-shaped sample the tests make (fixture ``xpersona_sample``)."""

from __future__ import annotations

import pytest

from generation.filters.probe import XPERSONA_LANGS, measure, xpersona_file

# Measured rates are in docs/filtering.md. it/English, id/English and id/other-language (strict xfails
# before) need the LID gate's English-turn, foreign-top-label and target-word rules.


@pytest.fixture(scope="module")
def rates(xpersona_sample):
    return measure(xpersona_sample)


@pytest.mark.parametrize("code", list(XPERSONA_LANGS))
def test_real_dialogues_are_kept(rates, xpersona_sample, code):
    if not xpersona_file(xpersona_sample, code).is_file():
        pytest.skip(f"{xpersona_file(xpersona_sample, code)} absent")
    assert rates[code]["keep_rate"] >= 0.98, rates[code]
    # both halves (even/odd dialogue index): the thresholds must not hold only on average
    assert min(rates[code]["keep_rate_by_parity"].values()) >= 0.97, rates[code]


@pytest.mark.parametrize("probe", ["english", "other_language", "romanized"])
@pytest.mark.parametrize("code", list(XPERSONA_LANGS))
def test_one_bad_turn_is_dropped_by_the_right_gate(rates, xpersona_sample, code, probe):
    if not xpersona_file(xpersona_sample, code).is_file():
        pytest.skip(f"{xpersona_file(xpersona_sample, code)} absent")
    if probe not in rates[code]:
        pytest.skip(f"{probe} probe does not apply to {code}")
    res = rates[code][probe]
    assert set(res["by_gate"]) <= {"lid", "script"}, res
    assert res["drop_rate"] >= 0.99, res
    assert min(res["drop_rate_by_parity"].values()) >= 0.98, res
