"""FastTextNumpy's one-text path (``predict_one``, ``label_prob_one``: what inline generation calls for every
text) gives exactly the batch path's float32 probabilities and top-k order, on XPersona, on the scripted
crowdworker's bank and on random strings mixing scripts."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from generation.testing.crowdworker import BANK
from moud_gates.lid.fasttext_numpy import FastTextNumpy
from moud_gates.lid.fasttext_scoring import sigmoid32, std_log
from moud_gates.lid.model import bundled_model_path
from tests.gates.fasttext_model_writer import write_model
from tests.gates.helpers import EDGE_CASES, random_texts

# letters of several scripts, digits, punctuation, emoji and every kind of space fastText splits on (or not)
_POOL = (
    "abcdefghijklmnopqrstuvwxyzéèçñßøœ'’-.,!?0123456789"
    "абвгдежзиклмнопрстуфхцчшщыэюя"
    "αβγδεζηθικλμνξοπρστυφχψω"
    "אבגדהוזחטיכלמנסעפצקרשת"
    "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
    "कखगघचछजझटठडढणतथदधनपफबभमयरलवशसह"
    "กขคงจฉชซญดตถทนบปผพฟภมยรลวศสหอ"
    "あいうえおかきくけこアイウエオカキクケコ"
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年"
    "가나다라마바사아자차카타파하한국어"
    "😀🐶🍣\u200d\ufe0f"
    "ＡＢＣ１２３"
)
_SPACES = [" ", " ", " ", "  ", "\t", "\n", "\u3000", "\xa0", "\0", "\v", "\f", "\r"]


def mixed_script_texts(n: int, seed: int) -> list[str]:
    """Random 'words' drawn from a few scripts each, joined by random (fastText and non-fastText) spaces."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = [
            "".join(rng.choice(_POOL) for _ in range(rng.randint(1, 12))) for _ in range(rng.randint(0, 14))
        ]
        out.append("".join(w + rng.choice(_SPACES) for w in words))
    return out


def bank_texts() -> list[str]:
    return [text for lang in BANK.values() for texts in lang.values() for text in texts]


def xpersona_texts(folder) -> list[str]:
    texts = []
    for path in sorted(folder.glob("*.json")):
        for d in json.loads(path.read_text(encoding="utf-8")):
            texts += d["persona"] + [u for pair in d["dialogue"] for u in pair]
    return list(dict.fromkeys(texts))


@pytest.fixture(scope="module")
def lid176() -> FastTextNumpy:
    return FastTextNumpy(bundled_model_path())


def probe_labels(model: FastTextNumpy) -> list[int]:
    """Labels to compute on their own: the common targets, the deepest label and a few others."""
    names = list(model.labels)
    deepest = max(range(len(names)), key=lambda i: len(model.scorer.paths[i]))
    common = [names.index(f"__label__{x}") for x in ("fr", "zh", "ja", "ar", "en", "id", "sw")]
    return [*common, deepest, 0, len(names) - 1]


def assert_one_text_is_the_batch(model: FastTextNumpy, texts: list[str], k: int = 5) -> None:
    batch = model.predict_batch(texts, k)
    for text, expected in zip(texts, batch, strict=True):
        got = model.predict_one(text, k)
        # labels in the same order, probabilities the same float32 values (python floats compare exactly)
        assert got == expected, (text, got, expected)
    assert model.predict(texts[:3], k) == batch[:3]  # a few texts go one by one
    for label in probe_labels(model):
        expected = model.label_probs_batch(texts, label).tolist()
        assert [model.label_prob_one(t, label) for t in texts] == expected, model.labels[label]
        assert model.label_probs(texts[:2], label) == expected[:2]


def test_one_text_matches_the_batch_on_the_crowdworker_bank(lid176):
    texts = bank_texts()
    assert len(texts) > 150
    assert_one_text_is_the_batch(lid176, texts)


def test_one_text_matches_the_batch_on_random_mixed_scripts(lid176):
    texts = mixed_script_texts(3000, seed=11) + random_texts(1000, seed=5) + EDGE_CASES
    assert_one_text_is_the_batch(lid176, texts)


def test_one_text_matches_the_batch_on_xpersona(lid176, xpersona_dir):
    texts = xpersona_texts(xpersona_dir)
    assert len(texts) > 20_000
    assert_one_text_is_the_batch(lid176, texts)


def test_whole_ranking_matches_the_batch(lid176):
    """Every label (k = all), so the order of near-ties and the 1e-5 floor's cut are compared too."""
    texts = bank_texts()[::5] + mixed_script_texts(200, seed=3)
    k = len(lid176.labels)
    batch = lid176.predict_batch(texts, k)
    assert [lid176.predict_one(t, k) for t in texts] == batch
    assert any(len(p) < k for p in batch) and any(len(p) > 30 for p in batch)


def test_the_comparison_sees_a_different_summation_order(lid176):
    """The equality checks above are sharp: adding the same per-level terms leaf first instead of root
    first changes some float32 probabilities."""
    texts = bank_texts()
    scorer = lid176.scorer
    changed = 0
    for text in texts:
        hidden, _ = lid176.tokens.hidden_one(text)
        f = sigmoid32(np.einsum("nd,bd->nb", scorer.out, hidden)[:, 0])
        terms = np.concatenate([std_log(1.0 - f), std_log(f), np.zeros(1, np.float32)]).take(scorer.gather)
        leaf_first = terms[::-1].copy()
        reordered = leaf_first[0].copy()
        for row in leaf_first[1:]:
            reordered += row
        changed += not np.array_equal(reordered, scorer.log_probs_one(hidden))
    assert changed > len(texts) // 10


def test_one_text_after_the_token_cache_is_forgotten():
    texts = bank_texts() + mixed_script_texts(300, seed=8)
    small = FastTextNumpy(bundled_model_path(), cache_size=40)
    expected = FastTextNumpy(bundled_model_path()).predict_batch(texts, 3)
    assert [small.predict_one(t, 3) for t in texts] == expected
    assert len(small.tokens.index) <= max(40, 1 + max(len(t.split()) for t in texts))


@pytest.mark.parametrize(
    "kind",
    [
        {"loss": "hs"},
        {"loss": "hs", "minn": 1, "maxn": 3},
        {"loss": "softmax"},
        {"loss": "hs", "quantized": True, "qnorm": True, "qout": True, "pruned_buckets": 300},
    ],
    ids=["hs", "minn1", "softmax", "ftz-qnorm-qout"],
)
def test_one_text_matches_the_batch_on_model_files(tmp_path, kind):
    labels = [f"l{i}" for i in range(23)]  # an unbalanced tree of depth > 5
    path = write_model(tmp_path / "m.bin", ["le", "chat", "猫", "кошка"], labels, **kind)
    model = FastTextNumpy(path)
    texts = ["le chat", "", "猫 кошка le", "unknown"] + mixed_script_texts(300, seed=2)
    batch = model.predict_batch(texts, 7)
    assert [model.predict_one(t, 7) for t in texts] == batch
    if model.hs:
        for label in (0, 11, 22):
            expected = model.label_probs_batch(texts, label).tolist()
            assert [model.label_prob_one(t, label) for t in texts] == expected
    else:
        assert model.label_probs(texts, 0) is None and model.label_prob_one("le chat", 0) is None
