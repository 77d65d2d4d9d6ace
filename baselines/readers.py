"""Readers that turn XPersona JSON, PersonaChat/TransferTransfo JSON and MOUD rows (a built dataset folder
or a run folder's shards) into ``Instance``s. A file of the wrong shape names the file, the dialogue (and
turn) and what was expected."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from baselines.instance import Instance, window
from moud_core.errors import MoudError
from moud_core.jsonl import read_json
from moud_core.row_source import BUILT, folder_kind, open_rows
from moud_core.splits import DEFAULT_RATIOS
from moud_core.xpersona import xpersona_prefixes


def _is_str_list(value, allow_empty: bool = False) -> bool:
    return isinstance(value, list) and (allow_empty or bool(value)) and all(isinstance(s, str) for s in value)


def _dialogues(items: list, where: str, persona_key: str, turns_key: str, expected: str):
    """(where, stripped persona, turns) of each dialogue object; a malformed one raises naming it."""
    for i, dlg in enumerate(items):
        here = f"{where} dialogue {i}"
        if (
            not isinstance(dlg, dict)
            or not _is_str_list(dlg.get(persona_key))
            or not isinstance(dlg.get(turns_key), list)
        ):
            raise MoudError(f"{here}: expected an object with {expected}")
        yield here, [s.strip() for s in dlg[persona_key]], dlg[turns_key]


def iter_xpersona(path: str | Path, language: str | None = None, max_history: int = 2) -> Iterator[Instance]:
    """Instances from one XPersona file; the bot (second element of each pair) has the persona."""
    path = Path(path)
    if language is None:
        prefix = path.name.split("_", 1)[0]
        language = xpersona_prefixes().get(prefix)
        if language is None:
            raise MoudError(f"{path}: cannot tell the language from the file name prefix {prefix!r}")
    data = read_json(path, "XPersona JSON (a list of dialogues)")
    if not isinstance(data, list):
        raise MoudError(f"{path}: expected a JSON list of dialogues, got {type(data).__name__}")
    expected = "'persona' (list of strings) and 'dialogue' (list of [user_utterance, response] pairs)"
    for i, (where, persona, pairs) in enumerate(
        _dialogues(data, f"{path}:", "persona", "dialogue", expected)
    ):
        history: list[str] = []
        for t, pair in enumerate(pairs):
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(s, str) for s in pair)):
                raise MoudError(f"{where}, turn {t}: expected a [user_utterance, response] pair of strings")
            user, response = (s.strip() for s in pair)
            history.append(user)
            if response:
                yield Instance(
                    language,
                    persona,
                    window(history, max_history),
                    response,
                    f"{path.stem}#{i}",
                    t,
                    "xpersona",
                )
            history.append(response)


def iter_personachat(
    path: str | Path, split: str = "train", language: str = "en", max_history: int = 2
) -> Iterator[Instance]:
    """Instances from a PersonaChat/TransferTransfo JSON (``{"train": [...], "valid": [...]}``, gold last)."""
    data = read_json(path, "PersonaChat JSON (train/valid lists of dialogues)")
    key = {"validation": "valid"}.get(split, split)
    if not isinstance(data, dict) or key not in data:
        keys = ", ".join(data) if isinstance(data, dict) else type(data).__name__
        raise MoudError(f"{path}: expected a JSON object with a {key!r} list of dialogues (found: {keys})")
    if not isinstance(data[key], list):
        raise MoudError(f"{path}: field {key!r}: expected a list of dialogues")
    expected = "'personality' (list of strings) and 'utterances' (list of {history, candidates})"
    dialogues = _dialogues(data[key], f"{path}: {key}", "personality", "utterances", expected)
    for i, (where, persona, utterances) in enumerate(dialogues):
        for t, utt in enumerate(utterances):
            if not (
                isinstance(utt, dict)
                and _is_str_list(utt.get("history"), allow_empty=True)
                and _is_str_list(utt.get("candidates"))
            ):
                raise MoudError(
                    f"{where}, utterance {t}: expected 'history' (list of strings) and "
                    "'candidates' (non-empty list of strings, gold last)"
                )
            cands = [c.strip() for c in utt["candidates"]]
            yield Instance(
                language,
                persona,
                window([h.strip() for h in utt["history"]], max_history),
                cands[-1],
                f"{Path(path).stem}#{key}#{i}",
                t,
                "personachat",
                candidates=cands,
                label=len(cands) - 1,
            )


def iter_moud_rows(rows: Iterable[dict], max_history: int = 2) -> Iterator[Instance]:
    """One instance per turn after the first; the responding speaker's persona is used. The rows come
    checked (``moud_core.row_source.open_rows``)."""
    for row in rows:
        personas = {"A": list(row["persona_a"]), "B": list(row["persona_b"])}
        turns = row["turns"]
        texts = [t["text"].strip() for t in turns]
        for t in range(1, len(turns)):
            if texts[t]:
                yield Instance(
                    row["language"],
                    personas[turns[t]["speaker"]],
                    window(texts[:t], max_history),
                    texts[t],
                    row["id"],
                    t,
                    "moud",
                )


def moud_languages(path: str | Path) -> list[str]:
    path = Path(path)
    if folder_kind(path) is None:
        raise MoudError(
            f"{path}: not a MOUD dataset folder or shards folder (expected data/<lang>/*.parquet from "
            "`moud build`, or shards/<lang>/*.jsonl)"
        )
    return sorted(open_rows(path, flag="MOUD").languages)


def iter_moud(
    path: str | Path,
    language: str,
    split: str | None,
    max_history: int = 2,
    split_seed: int = 0,
    split_ratios: tuple[float, float, float] = DEFAULT_RATIOS,
) -> Iterator[Instance]:
    """MOUD instances for ``language`` from a built dataset folder or JSONL shards (``RUN/shards/<lang>/``),
    read with ``moud_core.row_source.open_rows``. Shards have no split column: rows get the split
    ``moud build --seed split_seed --split-ratios ...`` gives them (``moud_core.splits``), so a dialogue is
    never in train on one side and in validation/test on the other; ``split=None`` keeps all. A built
    folder's splits are fixed: split settings that disagree with the ones it records are refused, and
    ``split=None`` reads its train split."""
    path = Path(path)
    if not path.exists():
        raise MoudError(f"{path}: MOUD folder not found")
    present = moud_languages(path)
    if language not in present:
        raise MoudError(
            f"{path}: language {language!r} absent; languages present: {', '.join(present) or 'none'}"
        )
    built = folder_kind(path) == BUILT
    splits = [split or "train"] if built else [split] if split else None
    source = open_rows(
        path, [language], splits, split_seed=split_seed, split_ratios=split_ratios, flag="MOUD"
    )
    if built:
        source.check_split(split_seed, split_ratios, "the baselines' split_seed/split_ratios")
        if not source.files(language):
            raise MoudError(f"{path}: config {language!r} has no split {splits[0]!r}")
    yield from iter_moud_rows((row for _, row in source), max_history)
