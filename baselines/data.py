"""Training and evaluation data from several sources: ``load_instances`` reads one source for a set of
languages and a split; ``mix_sources`` concatenates several with per-language balancing.

Sources are named by a spec mapping ``{"type": "moud"|"xpersona"|"personachat", "path": ..., "split": ...}``
or the string ``"type:path"`` (``"type:path@split"`` fixes the split). The readers are in
``baselines/readers.py``; the instance in ``baselines/instance.py``.
"""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

from baselines.instance import Instance
from baselines.readers import iter_moud, iter_personachat, iter_xpersona, moud_languages
from moud_core.errors import ConfigError, MoudError
from moud_core.splits import DEFAULT_RATIOS, SPLITS, parse_ratios
from moud_core.xpersona import xpersona_file, xpersona_languages

SOURCE_TYPES = ("moud", "xpersona", "personachat")
XPERSONA_SPLITS = ("train", "valid", "test")


def parse_source(spec) -> dict:
    """``"xpersona:DIR"`` / ``"xpersona:DIR@valid"`` (fixed split) or ``{"type", "path", "split"}`` ->
    normalized mapping."""
    if isinstance(spec, str):
        kind, sep, path = spec.partition(":")
        if not sep:
            raise ConfigError(
                f"source {spec!r}: expected TYPE:PATH with TYPE one of {', '.join(SOURCE_TYPES)}"
            )
        spec = {"type": kind, "path": path}
        base, at, split = path.rpartition("@")
        if at and split in (*SPLITS, "valid"):
            spec = {"type": kind, "path": base, "split": split}
    if not isinstance(spec, dict) or spec.get("type") not in SOURCE_TYPES or not spec.get("path"):
        raise ConfigError(
            f"source {spec!r}: expected a mapping with 'type' ({'|'.join(SOURCE_TYPES)}) and 'path'"
        )
    out = dict(spec)
    out.setdefault("name", out["type"])
    return out


def source_languages(source: dict, split: str) -> list[str]:
    if source["type"] == "xpersona":
        return xpersona_languages(source["path"], split)
    if source["type"] == "moud":
        return moud_languages(source["path"])
    return [source.get("language", "en")]


def load_instances(source, languages: list[str] | None, split: str, max_history: int = 2) -> list[Instance]:
    """All instances of ``source`` for ``languages`` (None: every language present) and ``split``."""
    source = parse_source(source)
    split = source.get("split", split)
    kind, path = source["type"], source["path"]
    if not Path(path).exists():
        raise MoudError(f"{path}: {kind} data not found")
    present = source_languages(source, split)
    hint = _xpersona_splits_hint(path, split) if kind == "xpersona" else ""
    if not present:
        raise MoudError(f"{path}: no {kind} {split} data{hint}")
    wanted = present if languages is None else languages
    missing = [lang for lang in wanted if lang not in present]
    if missing:
        raise MoudError(
            f"{path}: language(s) {', '.join(missing)} absent from {kind} {split} data; "
            f"languages present: {', '.join(present)}{hint}"
        )
    out: list[Instance] = []
    for lang in wanted:
        if kind == "xpersona":
            out.extend(iter_xpersona(xpersona_file(path, lang, split), lang, max_history))
        elif kind == "moud":
            out.extend(
                iter_moud(
                    path,
                    lang,
                    split,
                    max_history,
                    int(source.get("split_seed", 0)),
                    parse_ratios(source.get("split_ratios", DEFAULT_RATIOS)),
                )
            )
        else:
            out.extend(iter_personachat(path, split, lang, max_history))
    return out


def _xpersona_splits_hint(path: str, split: str) -> str:
    """Where the folder has files of other splits (e.g. only the validation files): which ones, and how to
    ask for them."""
    split = {"validation": "valid"}.get(split, split)
    others = [s for s in XPERSONA_SPLITS if s != split and xpersona_languages(path, s)]
    if not others:
        return ""
    return f" (the folder has {'/'.join(others)} files: use xpersona:{path}@{others[0]})"


def balance(
    instances: list[Instance], mode: str = "none", per_language: int | None = None, seed: int = 0
) -> list[Instance]:
    """Per-language balancing: ``cap`` keeps at most ``per_language`` per language (random, seeded);
    ``upsample`` repeats smaller languages up to ``per_language`` (default: the largest language's size);
    ``none`` keeps everything."""
    if mode == "none":
        return list(instances)
    if mode not in ("cap", "upsample"):
        raise ConfigError(f"balance mode {mode!r}: expected none, cap or upsample")
    by_lang: dict[str, list[Instance]] = defaultdict(list)
    for inst in instances:
        by_lang[inst.language].append(inst)
    if mode == "cap" and not per_language:
        raise ConfigError("balance mode 'cap' needs per_language (a positive number of instances)")
    target = per_language or max(len(v) for v in by_lang.values())
    out: list[Instance] = []
    for lang in sorted(by_lang):
        items, rng = by_lang[lang], random.Random(f"{seed}:balance:{lang}")
        if mode == "cap":
            out.extend(rng.sample(items, min(target, len(items))) if len(items) > target else items)
        else:
            reps, rest = divmod(max(target, len(items)), len(items))
            out.extend(items * reps + rng.sample(items, rest))
    return out


def mix_sources(
    sources: list,
    languages: list[str] | None,
    split: str = "train",
    max_history: int = 2,
    balance_mode: str = "none",
    per_language: int | None = None,
    seed: int = 0,
) -> list[Instance]:
    """Concatenate several sources (e.g. MOUD + XPersona), then balance per language."""
    instances: list[Instance] = []
    for src in sources:
        src = parse_source(src)
        langs = languages
        if languages is not None and len(sources) > 1:  # a language may live in only some sources
            avail = set(source_languages(src, src.get("split", split)))
            langs = [lang for lang in languages if lang in avail]
            if not langs:
                continue
        instances.extend(load_instances(src, langs, split, max_history))
    if languages is not None:
        found = {i.language for i in instances}
        missing = [lang for lang in languages if lang not in found]
        if missing:
            raise MoudError(
                f"language(s) {', '.join(missing)} absent from every training source; "
                f"languages present: {', '.join(sorted(found)) or 'none'}"
            )
    return balance(instances, balance_mode, per_language, seed)
