"""Acceptance on XPersona validation dialogues and on realistic corruptions of them: the real files
(../shared/data/xpersona) when present, else the small XPersona-shaped sample the tests make (fixture
``xpersona_sample``). The measured rates are in docs/filtering.md."""

from __future__ import annotations

import pytest

from benchmarks.corruptions import CLASSES
from benchmarks.probe import XPERSONA_LANGS, measure, xpersona_file


@pytest.fixture(scope="module")
def rates(xpersona_sample):
    return measure(xpersona_sample)


@pytest.mark.parametrize("code", list(XPERSONA_LANGS))
def test_real_dialogues_are_kept(rates, xpersona_sample, code):
    if not xpersona_file(xpersona_sample, code).is_file():
        pytest.skip(f"{xpersona_file(xpersona_sample, code)} absent")
    assert rates[code]["keep_rate"] >= 0.98, rates[code]
    # both halves (even/odd dialogue index): the rules must not hold only on average
    assert min(rates[code]["keep_rate_by_parity"].values()) >= 0.97, rates[code]


@pytest.mark.parametrize("kind", list(CLASSES))
@pytest.mark.parametrize("code", list(XPERSONA_LANGS))
def test_corruptions_are_dropped_by_the_right_gate(rates, xpersona_sample, code, kind):
    if not xpersona_file(xpersona_sample, code).is_file():
        pytest.skip(f"{xpersona_file(xpersona_sample, code)} absent")
    res = rates[code]["classes"].get(kind)
    if res is None:
        pytest.skip(f"{kind} does not apply to {code}")
    assert set(res["by_gate"]) <= CLASSES[kind], res
    assert res["drop_rate"] >= 0.99 and res["right_rate"] >= 0.99, res
    assert min(res["right_rate_by_parity"].values()) >= 0.98, res
