"""moud_gates.lid.fasttext_numpy gives fastText's own predictions: on lid.176.ftz (real and random text)
and on small model files of every supported kind, batched or not."""

from __future__ import annotations

import json

import fasttext
import pytest

from moud_core.errors import ConfigError
from moud_gates.gates.lid import LidModel, bundled_model_path
from moud_gates.lid.fasttext_file import UnsupportedModel, supported
from moud_gates.lid.fasttext_numpy import FastTextNumpy
from tests.gates.fasttext_model_writer import write_model
from tests.gates.helpers import EDGE_CASES, TEXTS, random_texts

WORDS = ["le", "chat", "noir", "die", "Katze", "кошка", "猫", "été"]
LABELS = ["a", "b", "c", "d", "e", "f", "g"]
SAMPLES = [
    "le chat noir dort",
    "die Katze schläft",
    "猫が寝ている",
    "кошка спит тихо",
    "chat chat chat",
    "",
    "unknownword xyz",
    "</s> after the end",
    "__label__a x",
    "ééé ñ 😀",
    "été",
    "a b c d e f g h",
]


def reference(path, texts: list[str], k: int) -> list[list[tuple[str, float]]]:
    predict = fasttext.load_model(str(path)).f.predict
    return [
        [(label, prob) for prob, label in predict(" ".join(t.split()) + "\n", k, 0.0, "replace")]
        for t in texts
    ]


def assert_same(got, expected, texts, floor: float = 0.0, tol: float = 1e-5) -> None:
    """Same labels in the same order (those with probability >= floor) and probabilities within tol."""
    for text, g, e in zip(texts, got, expected, strict=True):
        g, e = [x for x in g if x[1] >= floor], [x for x in e if x[1] >= floor]
        assert [lab for lab, _ in g] == [lab for lab, _ in e], text
        assert all(abs(a - b) <= tol for (_, a), (_, b) in zip(g, e, strict=True)), (text, g, e)


def _corpus(xpersona=None) -> list[str]:
    texts = [t for lang in TEXTS for t in TEXTS[lang]] + EDGE_CASES[:-5] + random_texts(300)
    if xpersona is not None:
        for path in sorted(xpersona.glob("*.json")):
            for d in json.loads(path.read_text(encoding="utf-8"))[:60]:
                texts += d["persona"] + [u for pair in d["dialogue"] for u in pair]
    return [t for t in texts if "\ud800" not in t]  # the binding cannot take a lone surrogate


@pytest.fixture(scope="module")
def lid176() -> FastTextNumpy:
    return FastTextNumpy(bundled_model_path())


def test_lid176_matches_fasttext_on_multilingual_text(lid176):
    texts = _corpus()
    # labels below ~1e-4 sit at fastText's 1e-5 floor, where its tree search prunes by float noise
    assert_same(
        lid176.predict(texts, 3), reference(bundled_model_path(), texts, 3), texts, floor=1e-4, tol=2e-6
    )


def test_lid176_matches_fasttext_on_xpersona(lid176, xpersona_dir):
    texts = _corpus(xpersona_dir)
    assert len(texts) > 2000
    assert_same(
        lid176.predict(texts, 3), reference(bundled_model_path(), texts, 3), texts, floor=1e-4, tol=2e-6
    )


def test_a_text_scores_the_same_alone_or_in_any_batch(lid176):
    texts = _corpus()
    together = lid176.predict(texts, 3)
    assert [lid176.predict([t], 3)[0] for t in texts[:200]] == together[:200]
    assert lid176.predict(texts[::-1], 3) == together[::-1]


def test_token_cache_eviction_changes_nothing():
    texts = _corpus()
    small = FastTextNumpy(bundled_model_path(), cache_size=50)
    expected = FastTextNumpy(bundled_model_path()).predict(texts, 2)
    assert [p for i in range(0, len(texts), 37) for p in small.predict(texts[i : i + 37], 2)] == expected
    assert len(small.tokens.index) <= max(50, 1 + max(len(t.split()) for t in texts) * 37)


@pytest.mark.parametrize(
    "kind",
    [
        {"loss": "softmax"},
        {"loss": "hs"},
        {"loss": "hs", "minn": 1, "maxn": 3},
        {"loss": "softmax", "maxn": 0},
        {"loss": "hs", "quantized": True, "qnorm": True, "qout": True, "pruned_buckets": 300},
        {"loss": "softmax", "quantized": True, "pruned_buckets": 200},
    ],
    ids=["softmax", "hs", "minn1", "no-subwords", "ftz-qnorm-qout", "ftz-softmax"],
)
def test_model_files_of_every_supported_kind(tmp_path, kind):
    path = write_model(tmp_path / "m.bin", WORDS, LABELS, **kind)
    assert supported(path)
    texts = SAMPLES + random_texts(100, seed=3)
    texts = [t for t in texts if "\ud800" not in t]
    assert_same(FastTextNumpy(path).predict(texts, 4), reference(path, texts, 4), texts, tol=1e-6)


def test_unsupported_models_fall_back_to_the_binding(tmp_path):
    path = write_model(tmp_path / "bigrams.bin", WORDS, LABELS, word_ngrams=2)
    assert not supported(path)
    with pytest.raises(UnsupportedModel, match="wordNgrams=2"):
        FastTextNumpy(path)
    model = LidModel(path)
    assert model.backend == "fasttext"
    assert model.predict(["le chat"], 2) == [
        [(lab[len("__label__") :], p) for lab, p in reference(path, ["le chat"], 2)[0]]
    ]
    with pytest.raises(ConfigError, match="lid_backend numpy cannot read it"):
        LidModel(path, backend="numpy")
    with pytest.raises(ConfigError, match="lid_backend"):
        LidModel(path, backend="gpu")


def test_lid_model_backends_agree():
    texts = [t for lang in TEXTS for t in TEXTS[lang]]
    fast, slow = LidModel(), LidModel(backend="fasttext")
    assert fast.backend == "numpy" and slow.backend == "fasttext"
    assert_same(fast.predict(texts, 3), slow.predict(texts, 3), texts, floor=1e-4, tol=2e-6)
    assert fast.predict(texts, 3)[0][0][0] == "fr"
