"""Remarks about the language or the task instead of conversation ("this sentence is in French", "exercice en
espagnol : ...", "这句话是中文"): a task noun and a language name a few tokens apart, from per-language data
(``data/meta_remarks.yaml``) and the registry's language names."""

from __future__ import annotations

import functools
from typing import NamedTuple

import regex

from moud_core.errors import ConfigError
from moud_core.languages import load_registry
from moud_core.text import tokenize
from moud_core.yamlio import load_yaml
from moud_gates.data_dir import DATA_DIR
from moud_gates.gates.labels import Needles, phrase_form

META_PATH = DATA_DIR / "meta_remarks.yaml"


@functools.lru_cache(maxsize=1)
def meta_data() -> dict:
    data = load_yaml(META_PATH)
    if not isinstance(data, dict) or "en" not in data or not isinstance(data.get("gap"), dict):
        raise ConfigError(f"{META_PATH}: expected 'gap' and a mapping of language code -> nouns, names")
    for code, entry in data.items():
        if code == "gap":
            continue
        if not isinstance(entry, dict) or set(entry) != {"nouns", "names"}:
            raise ConfigError(f"{META_PATH}: {code}: expected a mapping with keys nouns, names")
        for key, words in entry.items():
            if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
                raise ConfigError(f"{META_PATH}: {code}.{key}: expected a list of non-empty strings")
    return data


def _alternatives(phrases) -> str:
    forms = {phrase_form(tokenize(p.replace("’", "'"))).strip() for p in phrases}
    return "|".join(regex.escape(f) for f in sorted(forms - {""}, key=len, reverse=True))


class MetaRule(NamedTuple):
    nouns: Needles  # pre-check: a text holds every token of some task noun
    pattern: regex.Pattern

    def find(self, tokens: list[str]) -> str | None:
        if not self.nouns.candidates(set(tokens)):
            return None
        m = self.pattern.search(phrase_form(tokens))
        return m.group(0).strip() if m else None


@functools.cache
def meta_rule(code: str, segmentation: str) -> MetaRule:
    data = meta_data()
    entries = [data["en"]] + ([data[code]] if code in data and code != "en" else [])
    nouns = [w for e in entries for w in e["nouns"]]
    names = [w for e in entries for w in e["names"]]
    names += [n for lang in load_registry().values() for n in (lang.name, lang.native_name) if n]
    gap = data["gap"]["chars" if segmentation == "chars" else "words"]
    noun, name = _alternatives(nouns), _alternatives(names)
    between = rf" (?:\S+ ){{0,{gap}}}?"
    return MetaRule(
        Needles(nouns), regex.compile(rf" (?:(?:{noun}){between}(?:{name})|(?:{name}){between}(?:{noun})) ")
    )
