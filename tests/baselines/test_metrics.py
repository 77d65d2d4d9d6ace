"""Metric correctness against hand-computed cases."""

from __future__ import annotations

import math

import pytest

from baselines import metrics as M
from moud_core.errors import MoudError
from tests.baselines.helpers import make_tiny_bert


def test_hits_at_1_known_ranking():
    scores = [[0.1, 0.9, 0.3], [2.0, 1.0, 0.0], [0.0, 0.0, 5.0], [1.0, 1.0, 0.0]]
    assert M.hits_at_1(scores, [1, 0, 0, 1]) == pytest.approx(0.5)  # ties go to the first candidate
    assert M.hits_at_1(scores, [1, 0, 2, 0]) == 1.0
    assert math.isnan(M.hits_at_1([], []))


def test_perplexity_and_bits_per_byte_on_known_loss():
    # 10 tokens at mean loss ln 4 -> ppl 4; 10*ln 4 nats = 20 bits over 5 bytes -> 4 bits per byte
    assert M.perplexity(10 * math.log(4), 10) == pytest.approx(4.0)
    assert M.bits_per_byte(10 * math.log(4), 5) == pytest.approx(4.0)
    assert M.utf8_len("日本") == 6 and M.utf8_len("é") == 2


def test_rouge_l_chinese_is_character_level():
    assert M.rouge_l(["我喜欢吃火锅"], ["我喜欢吃火锅"], "chars") == [1.0]
    assert M.rouge_l(["我喜欢吃火锅"], ["他们去爬山"], "chars") == [0.0]
    # partial overlap: LCS 3 of 6 and 4 chars -> P=3/6, R=3/4, F=0.6
    assert M.rouge_l(["我喜欢吃火锅"], ["我喜欢茶"], "chars")[0] == pytest.approx(0.6)
    # the ASCII default would see no tokens at all in Chinese; ours sees words in French with accents
    assert M.rouge_l(["j'adore le café"], ["j'adore le thé"], "words")[0] == pytest.approx(2 / 3)


def test_bertscore_with_a_tiny_local_bert(tmp_path):
    model = str(make_tiny_bert(tmp_path / "bert"))
    f1 = M.bertscore_f1(["我住在成都。", "J'habite à Lyon"], ["我住在成都。", "我喜欢爬山"], model, 2)
    assert f1[0] == pytest.approx(1.0, abs=1e-5) and f1[1] < 0.99


def test_bertscore_model_missing_is_a_clear_error(tmp_path):
    with pytest.raises(MoudError, match="not available offline.*--bertscore-model DIR.*--no-bertscore"):
        M.bertscore_f1(["a"], ["b"], str(tmp_path / "nope"), 9)
