"""Word lists and label scripts the LID gate weighs beside the model's probabilities: English function
words (the English-turn rule), common target-language words (counter-evidence), and which scripts each LID
label is written in (a label is only plausible for a text that has letters of its script)."""

from __future__ import annotations

import functools
import unicodedata

import regex

from moud_core.errors import ConfigError
from moud_core.writing_systems import unicode_scripts
from moud_core.yamlio import load_yaml
from moud_gates.data_dir import DATA_DIR

ENGLISH_WORDS_PATH = DATA_DIR / "english_words.yaml"


@functools.cache
def english_words(code: str) -> frozenset[str]:
    """English function words that are not ordinary words of language ``code`` (data/english_words.yaml)."""
    data = load_yaml(ENGLISH_WORDS_PATH)
    words, exclude = data.get("words"), (data.get("exclude") or {}).get(code) or []
    if not isinstance(words, list) or not isinstance(exclude, list):
        raise ConfigError(f"{ENGLISH_WORDS_PATH}: expected 'words' (a list) and 'exclude' (code -> list)")
    return frozenset(str(w).casefold() for w in words) - {str(w).casefold() for w in exclude}


TARGET_WORDS_PATH = DATA_DIR / "target_words.yaml"


@functools.cache
def target_words(code: str) -> frozenset[str]:
    """Common words of language ``code`` (data/target_words.yaml); empty when it has no list."""
    words = (load_yaml(TARGET_WORDS_PATH) or {}).get(code) or []
    if not isinstance(words, list):
        raise ConfigError(f"{TARGET_WORDS_PATH}: {code}: expected a list of words")
    return frozenset(str(w).casefold() for w in words)


def without_accents(word: str) -> str:
    """``word`` without combining marks on Latin letters ("perché" -> "perche", "é" -> "e"): chat text often
    has a missing or wrong accent mark."""
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)) if decomposed != word else word


@functools.cache
def target_words_plain(code: str) -> frozenset[str]:
    """``target_words(code)`` without accents."""
    return frozenset(without_accents(w) for w in target_words(code))


def word_share(tokens: list[str], words: frozenset[str], plain: frozenset[str] | None = None) -> float:
    """Share of ``tokens`` in ``words``; with ``plain`` (the words without accents) a token also counts when
    it matches one of them once its accents are removed ("e" and "é" for "è")."""
    if not tokens:
        return 0.0
    if plain is None:
        return sum(t in words for t in tokens) / len(tokens)
    return sum(t in words or without_accents(t) in plain for t in tokens) / len(tokens)


_CAPITAL_I = regex.compile(r"(?<![\p{L}\p{N}'’])I(?![\p{L}\p{N}'’])")


def english_share(tokens: list[str], code: str, text: str | None = None) -> float:
    """Share of ``tokens`` that are English function words (excluding words of language ``code``); with the
    ``text``, a capital "I" word counts as English even where "i" is a word of ``code``."""
    if not tokens:
        return 0.0
    words = english_words(code)
    hits = sum(t in words for t in tokens)
    if text is not None and "i" not in words and "I" in text:
        hits += len(_CAPITAL_I.findall(text))
    return min(hits, len(tokens)) / len(tokens)


def has_english_word(tokens: list[str], code: str, text: str) -> bool:
    """Whether ``english_share(tokens, code, text) > 0``, stopping at the first English function word."""
    if not tokens:
        return False
    words = english_words(code)
    if not words.isdisjoint(tokens):
        return True
    return "i" not in words and "I" in text and _CAPITAL_I.search(text) is not None


def _share_score(words: frozenset[str], share: float) -> dict:
    return {"target_share": round(share, 4)} if words else {}


LABEL_SCRIPTS_PATH = DATA_DIR / "lid_label_scripts.yaml"


@functools.lru_cache(maxsize=1)
def _label_scripts() -> dict[str, frozenset[str]]:
    """label -> Unicode scripts of the labels listed in lid_label_scripts.yaml."""
    data = load_yaml(LABEL_SCRIPTS_PATH)
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise ConfigError(f"{LABEL_SCRIPTS_PATH}: expected a mapping of Unicode script -> list of labels")
    table: dict[str, set[str]] = {}
    for script, labels in data.items():
        try:
            script_pattern(script)
        except regex.error:
            raise ConfigError(f"{LABEL_SCRIPTS_PATH}: {script}: not a Unicode script name") from None
        for label in labels:
            table.setdefault(str(label), set()).add(script)
    return {k: frozenset(v) for k, v in table.items()}


@functools.cache
def script_pattern(script: str) -> regex.Pattern:
    return regex.compile(f"\\p{{Script={script}}}")


@functools.cache
def label_scripts(label: str) -> frozenset[str] | None:
    """The Unicode scripts ``label`` is written in; None when unknown (a GlotLID label with a script suffix
    that is not in moud_core/data/writing_systems.yaml: then any text is plausible)."""
    table = _label_scripts()
    if label in table:
        return table[label]
    if "_" in label:  # GlotLID: xyz_Cyrl
        names = unicode_scripts(label.rsplit("_", 1)[1])
        return frozenset(names) if names else None
    return frozenset({"Latin"})


def plausible(label: str, text: str, seen: dict[str, bool]) -> bool:
    """Whether ``text`` can be in language ``label``: it has a letter of one of the label's scripts.
    ``seen``: script -> whether ``text`` has one of its letters (filled as scripts are looked up)."""
    scripts = label_scripts(label)
    if scripts is None:
        return True
    for script in scripts:
        found = seen.get(script)
        if found is None:
            found = seen[script] = script_pattern(script).search(text) is not None
        if found:
            return True
    return False
