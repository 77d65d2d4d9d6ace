"""Loaders that turn MOUD rows, XPersona JSON and PersonaChat/TransferTransfo JSON into one kind of
training instance: (language, persona of the responder, history window, gold reply, candidates).

Sources are named by a spec mapping ``{"type": "moud"|"xpersona"|"personachat", "path": ..., "split": ...}``
(or the string ``"type:path"``). ``load_instances`` reads one source for a set of languages;
``mix_sources`` concatenates several with per-language balancing.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from moud_core.errors import ConfigError, MoudError
from moud_core.jsonl import json_problem
from moud_core.languages import load_registry
from moud_core.runfolder import SHARDS, RunFolder
from moud_core.splits import DEFAULT_RATIOS, SPLITS, assign_split, parse_ratios
from moud_core.xpersona import xpersona_file, xpersona_languages, xpersona_prefixes

SOURCE_TYPES = ("moud", "xpersona", "personachat")


@dataclass
class Instance:
    """One response to predict. ``history`` is oldest first and ends with the partner's utterance."""

    language: str
    persona: list[str]
    history: list[str]
    reply: str
    dialogue_id: str
    turn: int
    source: str
    candidates: list[str] = field(default_factory=list)  # gold included once candidates are attached
    label: int = -1  # index of the gold reply in ``candidates``

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict, where: str = "") -> Instance:
        try:
            inst = cls(**{k: obj[k] for k in cls.__dataclass_fields__})
        except (KeyError, TypeError) as exc:
            raise MoudError(f"{where}: expected an instance with fields "
                            f"{', '.join(cls.__dataclass_fields__)} ({exc})") from None
        if inst.candidates and not (0 <= inst.label < len(inst.candidates)):
            raise MoudError(f"{where}: label {inst.label} outside the {len(inst.candidates)} candidates")
        return inst


# ----------------------------------------------------------------------------------------- XPersona

def _load_json(path: str | Path):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise MoudError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise MoudError(f"{path}:{exc.lineno}: {json_problem(exc)}") from None


def _is_str_list(value, allow_empty: bool = False) -> bool:
    return isinstance(value, list) and (allow_empty or bool(value)) and all(isinstance(s, str) for s in value)


def _window(history: list[str], max_history: int) -> list[str]:
    """The last ``2 * max_history + 1`` utterances (TransferTransfo's window); <0 keeps everything."""
    return list(history) if max_history < 0 else list(history[-(2 * max_history + 1):])


def iter_xpersona(path: str | Path, language: str | None = None, max_history: int = 2) -> Iterator[Instance]:
    """Instances from one XPersona file; the bot (second element of each pair) has the persona."""
    path = Path(path)
    if language is None:
        prefix = path.name.split("_", 1)[0]
        language = xpersona_prefixes().get(prefix)
        if language is None:
            raise MoudError(f"{path}: cannot tell the language from the file name prefix {prefix!r}")
    data = _load_json(path)
    if not isinstance(data, list):
        raise MoudError(f"{path}: expected a JSON list of dialogues, got {type(data).__name__}")
    for i, dlg in enumerate(data):
        where = f"{path}: dialogue {i}"
        if not isinstance(dlg, dict) or not _is_str_list(dlg.get("persona")) or not isinstance(
                dlg.get("dialogue"), list):
            raise MoudError(f"{where}: expected an object with 'persona' (list of strings) and "
                            "'dialogue' (list of [user_utterance, response] pairs)")
        history: list[str] = []
        for t, pair in enumerate(dlg["dialogue"]):
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(s, str) for s in pair)):
                raise MoudError(f"{where}, turn {t}: expected a [user_utterance, response] pair of strings")
            user, response = (s.strip() for s in pair)
            history.append(user)
            if response:
                yield Instance(language, [s.strip() for s in dlg["persona"]], _window(history, max_history),
                               response, f"{path.stem}#{i}", t, "xpersona")
            history.append(response)


# -------------------------------------------------------------------------------------- PersonaChat

def iter_personachat(path: str | Path, split: str = "train", language: str = "en",
                     max_history: int = 2) -> Iterator[Instance]:
    """Instances from a PersonaChat/TransferTransfo JSON (``{"train": [...], "valid": [...]}``, gold last)."""
    data = _load_json(path)
    key = {"validation": "valid"}.get(split, split)
    if not isinstance(data, dict) or key not in data:
        keys = ", ".join(data) if isinstance(data, dict) else type(data).__name__
        raise MoudError(f"{path}: expected a JSON object with a {key!r} list of dialogues (found: {keys})")
    dialogues = data[key]
    if not isinstance(dialogues, list):
        raise MoudError(f"{path}: field {key!r}: expected a list of dialogues")
    for i, dlg in enumerate(dialogues):
        where = f"{path}: {key} dialogue {i}"
        if not isinstance(dlg, dict) or not _is_str_list(dlg.get("personality")) or not isinstance(
                dlg.get("utterances"), list):
            raise MoudError(f"{where}: expected an object with 'personality' (list of strings) and "
                            "'utterances' (list of {history, candidates})")
        for t, utt in enumerate(dlg["utterances"]):
            if not (isinstance(utt, dict) and _is_str_list(utt.get("history"), allow_empty=True)
                    and _is_str_list(utt.get("candidates"))):
                raise MoudError(f"{where}, utterance {t}: expected 'history' (list of strings) and "
                                "'candidates' (non-empty list of strings, gold last)")
            cands = [c.strip() for c in utt["candidates"]]
            yield Instance(language, [s.strip() for s in dlg["personality"]],
                           _window([h.strip() for h in utt["history"]], max_history), cands[-1],
                           f"{Path(path).stem}#{key}#{i}", t, "personachat", candidates=cands,
                           label=len(cands) - 1)


# --------------------------------------------------------------------------------------------- MOUD

def _turns(row) -> list[dict]:
    turns = row["turns"]
    if isinstance(turns, dict):  # columnar form {"speaker": [...], "text": [...]}
        return [{"speaker": s, "text": t} for s, t in zip(turns["speaker"], turns["text"], strict=True)]
    return turns


def iter_moud_rows(rows: Iterable[dict], max_history: int = 2, where: str = "MOUD") -> Iterator[Instance]:
    """One instance per turn after the first; the responding speaker's persona is used."""
    for n, row in enumerate(rows):
        try:
            turns = _turns(row)
            personas = {"A": list(row["persona_a"]), "B": list(row["persona_b"])}
            rid, lang = row["id"], row["language"]
        except (KeyError, TypeError, ValueError):
            raise MoudError(f"{where}: row {n}: expected a MOUD row (moud_core/schema.py) with id, language, "
                            "persona_a, persona_b and turns") from None
        texts = [t["text"].strip() for t in turns]
        for t in range(1, len(turns)):
            if texts[t] and turns[t]["speaker"] in personas:
                yield Instance(lang, personas[turns[t]["speaker"]], _window(texts[:t], max_history), texts[t],
                               rid, t, "moud")


def _run_folder(path: Path) -> RunFolder | None:
    """The run folder when ``path`` holds JSONL shards (a run folder or its shards/), else None."""
    if (path / SHARDS).is_dir() or (path.is_dir() and any(path.glob("*/*.jsonl"))):
        return RunFolder.open(path)
    return None


def moud_languages(path: str | Path) -> list[str]:
    path = Path(path)
    folder = _run_folder(path)
    if folder is not None:
        return sorted(folder.language_files(load_registry()))
    import datasets

    try:
        return [c for c in datasets.get_dataset_config_names(str(path)) if c != "all"]
    except Exception as exc:  # datasets raises many kinds for a folder it cannot read
        raise MoudError(f"{path}: not a MOUD dataset folder or shards folder ({type(exc).__name__})") from None


def iter_moud(path: str | Path, language: str, split: str | None, max_history: int = 2, split_seed: int = 0,
              split_ratios: tuple[float, float, float] = DEFAULT_RATIOS) -> Iterator[Instance]:
    """MOUD instances for ``language``: from a built dataset folder (``load_dataset(folder, lang,
    split=...)``) or from JSONL shards (``RUN/shards/<lang>/*.jsonl``). Shards have no split column: rows
    get the split ``moud build --seed split_seed --split-ratios ...`` gives them (``moud_core.splits``), so a
    dialogue is never in train on one side and in validation/test on the other; ``split=None`` keeps all."""
    path = Path(path)
    if not path.exists():
        raise MoudError(f"{path}: MOUD folder not found")
    present = moud_languages(path)
    if language not in present:
        raise MoudError(f"{path}: language {language!r} absent; languages present: {', '.join(present) or 'none'}")
    folder = _run_folder(path)
    if folder is not None:
        rows = (row for _, row in folder.iter_rows(load_registry(), [language])
                if split is None or assign_split(row["split_group"], split_seed, split_ratios) == split)
        yield from iter_moud_rows(rows, max_history, where=str(folder.shards / language))
        return
    import datasets

    try:
        ds = datasets.load_dataset(str(path), language, split=split or "train")
    except ValueError as exc:
        raise MoudError(f"{path}: config {language!r} has no split {split!r} ({str(exc).splitlines()[0]})") from None
    yield from iter_moud_rows(iter(ds), max_history, where=f"{path}[{language}/{split}]")


# --------------------------------------------------------------------------------- sources and mixing

def parse_source(spec) -> dict:
    """``"xpersona:DIR"`` / ``"xpersona:DIR@valid"`` (fixed split) or ``{"type", "path", "split"}`` ->
    normalized mapping."""
    if isinstance(spec, str):
        kind, sep, path = spec.partition(":")
        if not sep:
            raise ConfigError(f"source {spec!r}: expected TYPE:PATH with TYPE one of {', '.join(SOURCE_TYPES)}")
        spec = {"type": kind, "path": path}
        base, at, split = path.rpartition("@")
        if at and split in (*SPLITS, "valid"):
            spec = {"type": kind, "path": base, "split": split}
    if not isinstance(spec, dict) or spec.get("type") not in SOURCE_TYPES or not spec.get("path"):
        raise ConfigError(f"source {spec!r}: expected a mapping with 'type' ({'|'.join(SOURCE_TYPES)}) and 'path'")
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
    wanted = present if languages is None else languages
    missing = [lang for lang in wanted if lang not in present]
    if missing:
        raise MoudError(f"{path}: language(s) {', '.join(missing)} absent from {kind} {split} data; "
                        f"languages present: {', '.join(present) or 'none'}")
    out: list[Instance] = []
    for lang in wanted:
        if kind == "xpersona":
            out.extend(iter_xpersona(xpersona_file(path, lang, split), lang, max_history))
        elif kind == "moud":
            out.extend(iter_moud(path, lang, split, max_history, int(source.get("split_seed", 0)),
                                 parse_ratios(source.get("split_ratios", DEFAULT_RATIOS))))
        else:
            out.extend(iter_personachat(path, split, lang, max_history))
    return out


def balance(instances: list[Instance], mode: str = "none", per_language: int | None = None,
            seed: int = 0) -> list[Instance]:
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


def mix_sources(sources: list, languages: list[str] | None, split: str = "train", max_history: int = 2,
                balance_mode: str = "none", per_language: int | None = None, seed: int = 0) -> list[Instance]:
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
            raise MoudError(f"language(s) {', '.join(missing)} absent from every training source; "
                            f"languages present: {', '.join(sorted(found)) or 'none'}")
    return balance(instances, balance_mode, per_language, seed)
